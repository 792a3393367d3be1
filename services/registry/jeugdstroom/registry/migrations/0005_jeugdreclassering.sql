-- Jeugdreclassering trajectories (event type and entity `jeugdreclassering`, iJw product category 47; the
-- JeugdreclasseringEpisode contract; docs/indicators.md, "Jeugdreclassering").
CREATE TABLE IF NOT EXISTS registry.jeugdreclasseringen (
    pseudonym            text NOT NULL,
    instelling           text NOT NULL,
    jeugdreclassering_id text NOT NULL,
    start_date           date NOT NULL,
    end_date             date,
    gemeente             text NOT NULL,
    birth_date           date NOT NULL,
    episode              jsonb NOT NULL,    -- the JeugdreclasseringEpisode contract
    PRIMARY KEY (pseudonym, instelling, jeugdreclassering_id)
);

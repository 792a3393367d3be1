-- Population per year × gemeente × CBS youth-care age class × geslacht: the denominator of the rates (per_1000,
-- docs/indicators.md "Rates"), loaded by `jeugdstroom population import FILE` (docs/population.md). Not an
-- aggregate of events: a rebuild leaves it alone.
CREATE TABLE IF NOT EXISTS monitor.population (
    jaar            integer NOT NULL,
    gemeente        text    NOT NULL,  -- current CBS code (a merged-away code counts in its successor)
    leeftijdsklasse text    NOT NULL CHECK (leeftijdsklasse IN ('0-4', '4-12', '12-18', '18-23')),
    geslacht        text    NOT NULL CHECK (geslacht IN ('man', 'vrouw')),
    aantal          integer NOT NULL CHECK (aantal >= 0),
    PRIMARY KEY (jaar, gemeente, leeftijdsklasse, geslacht)
);

-- One row per imported year: where it came from, whether the file said it is synthetic (simulator), when.
CREATE TABLE IF NOT EXISTS monitor.population_import (
    jaar        integer PRIMARY KEY,
    source      text        NOT NULL,
    synthetic   boolean     NOT NULL,
    imported_at timestamptz NOT NULL
);

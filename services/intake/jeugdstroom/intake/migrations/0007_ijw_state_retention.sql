-- The iJw adapter's state gets the time of its last change, so the retention task can bound it under
-- FACT_RETENTION_DAYS (docs/privacy.md, "Storage limitation"). Existing rows count as changed now.
ALTER TABLE intake.ijw_records ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE intake.ijw_deliveries ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE intake.ijw_aanvragen ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE intake.ijw_toewijzingen ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

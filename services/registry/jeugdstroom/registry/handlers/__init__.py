"""Pure handlers: (facts of an entity) → its current version. No I/O here."""

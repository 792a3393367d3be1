"""registry: each child's care path as state in PostgreSQL, built from the typed topics."""

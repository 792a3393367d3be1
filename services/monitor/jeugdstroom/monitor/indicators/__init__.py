"""The indicators per registry entity: one module per entity the monitor folds (named after the entity, its
``ENTITY``), holding that entity's catalogue entries (``INDICATORS``, and ``INTERNAL`` series that only ratios use)
together with their fold functions. :mod:`jeugdstroom.monitor.catalogue` discovers the modules of this package, so
a new event type's indicators are one new module here (docs/indicators.md is their contract)."""

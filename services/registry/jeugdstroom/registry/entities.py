"""The registry's one table of entities: per entity its episode contract, change contract, id field, table and
projection (``entity.Entity``). Every list the registry needs (topics consumed, change types, entity names, id
fields, the tables) is derived from :data:`ENTITIES`; ``handlers.care_path`` dispatches by it.

Two sorts of entity:

* **event-sourced** (``project`` set): one per event type of ``contracts.kinds``, declared by the handler module of
  the same name (``handlers/<event type>.py`` exports ``ENTITY``): one entity per (event type, sender, id), its
  episode a projection of that entity's effective facts; the event type, its typed topic and the entity share the
  name, and the event's ``data`` carries the id in ``{name}_id``;
* **derived** (``project`` None): computed across one child's care path from the event-sourced episodes
  (``handlers.derived``), e.g. ``achttien_in_pleegzorg``; declared here.

Adding an event type: its contract module (``contracts/kinds``), its handler module with ``ENTITY``, its migration.
"""

from __future__ import annotations

import importlib

from jeugdstroom.common.contracts.changes import (
    AchttienChange,
    AchttienFact,
    ChangeBase,
    VerblijfSegment,
    VerblijfSegmentChange,
)
from jeugdstroom.common.contracts.entities import ENTITY_ID_FIELDS
from jeugdstroom.common.contracts.kinds import KINDS
from jeugdstroom.common.contracts.unions import CHANGE_CLASSES
from jeugdstroom.registry.entity import CHILD_COLUMNS, Entity, Episode, Table

__all__ = ["CHANGE_TYPES", "ENTITIES", "EVENT_ENTITIES", "ID_FIELDS", "TABLES", "TOPICS", "Entity", "Episode", "Table"]


def _event_sourced() -> tuple[Entity, ...]:
    """Each kind's ``ENTITY``, from the handler module named after it (a kind without one is an error)."""
    out = []
    for kind in KINDS:
        module = importlib.import_module(f"jeugdstroom.registry.handlers.{kind.name}")
        entity = getattr(module, "ENTITY", None)
        if not isinstance(entity, Entity) or entity.name != kind.name:
            raise RuntimeError(f"{module.__name__} must export ENTITY = Entity.of(KIND, ...) for {kind.name!r}")
        out.append(entity)
    return tuple(out)


_DERIVED: tuple[Entity, ...] = (
    Entity(
        "achttien_in_pleegzorg",
        AchttienFact,
        AchttienChange,
        ENTITY_ID_FIELDS["achttien_in_pleegzorg"],  # (named once, in the entity contract)
        "registry.achttien_facts",
        (
            ("vorm", "text", "vorm"),
            ("birthday", "date", "birthday"),
            ("continues", "boolean", "continues"),
            *CHILD_COLUMNS,
        ),
    ),
    Entity(
        "verblijf_segment",
        VerblijfSegment,
        VerblijfSegmentChange,
        ENTITY_ID_FIELDS["verblijf_segment"],
        "registry.verblijf_segmenten",
        (
            ("groep", "text", "groep"),
            ("plaatsing_id", "text", "plaatsing_id"),
            ("vorm", "text", "vorm"),
            ("start_date", "date", "start"),
            ("end_date", "date", "end"),
            *CHILD_COLUMNS,
        ),
    ),
)
_ENTITIES: tuple[Entity, ...] = (*_event_sourced(), *_DERIVED)

#: Entity name → its definition, in a fixed order (the order of changes' tables and of ``load_states``).
ENTITIES: dict[str, Entity] = {e.name: e for e in _ENTITIES}
#: Event types that describe an entity, i.e. the event-sourced entities (a correctie describes another event).
EVENT_ENTITIES: tuple[str, ...] = tuple(e.name for e in _ENTITIES if e.event_sourced)
#: Typed topics the registry consumes: one per event-sourced entity, and the corrections.
TOPICS: tuple[str, ...] = (*EVENT_ENTITIES, "correctie")
#: Entity name → its change contract.
CHANGE_TYPES: dict[str, type[ChangeBase]] = {e.name: e.change for e in _ENTITIES}
#: Entity name → the episode field that holds the entity id.
ID_FIELDS: dict[str, str] = {e.name: e.id_field for e in _ENTITIES}
#: Entity name → its table.
TABLES: dict[str, Table] = {e.name: e.storage for e in _ENTITIES}

for _e in _ENTITIES:  # the contracts agree with the table
    assert _e.change.model_fields["entity"].default == _e.name, _e.name
    assert _e.id_field in _e.episode.model_fields, _e.name
    assert not _e.event_sourced or _e.id_field == f"{_e.name}_id", _e.name  # ``Fact.entity_id`` relies on it
assert ID_FIELDS == ENTITY_ID_FIELDS  # the entity topic's keys (the contract) name the same id fields
assert CHANGE_TYPES == CHANGE_CLASSES  # the registry change union (the contract) has exactly these entities

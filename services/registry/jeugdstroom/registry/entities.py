"""The registry's one table of entities: per entity its episode contract, change contract, id field, table and
projection. Every list the registry needs (topics consumed, change types, entity names, id fields, the episode
union, the tables) is derived from :data:`ENTITIES`; ``handlers.care_path`` dispatches by it.

Two sorts of entity:

* **event-sourced** (``project`` set): one entity per (event type, sender, id) — its episode is a projection of
  that entity's effective facts; the event type, its typed topic and the entity share the name, and the event's
  ``data`` carries the id in ``{name}_id``;
* **derived** (``project`` None): computed across one child's care path from the event-sourced episodes
  (``handlers.derived``), e.g. ``achttien_in_pleegzorg``.

Adding an entity: its contract and change in ``contracts/changes.py`` (the ``AnyChange`` union stays the
contract), one row here, its migration, and for a derived entity its function in ``handlers.derived``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jeugdstroom.common.contracts.changes import (
    AanmeldingChange,
    AanmeldingEpisode,
    AchttienChange,
    AchttienFact,
    BeschikkingChange,
    BeschikkingEpisode,
    ChangeBase,
    JeugdreclasseringChange,
    JeugdreclasseringEpisode,
    PlaatsingChange,
    PlaatsingEpisode,
    SeparatieChange,
    SeparatieEpisode,
    VerblijfSegment,
    VerblijfSegmentChange,
)
from jeugdstroom.common.contracts.entities import ENTITY_ID_FIELDS
from jeugdstroom.registry.handlers import aanmelding, beschikking, jeugdreclassering, plaatsing, separatie
from jeugdstroom.registry.handlers.facts import AnyFact, Finding

#: Every entity episode the registry stores (the ``before``/``after`` of the change contracts).
Episode = (
    AanmeldingEpisode
    | BeschikkingEpisode
    | PlaatsingEpisode
    | SeparatieEpisode
    | AchttienFact
    | VerblijfSegment
    | JeugdreclasseringEpisode
)

Columns = tuple[tuple[str, str, str], ...]  # (column, PostgreSQL type, field of the episode)


@dataclass(frozen=True)
class Table:
    """Where one entity's projections live: key (pseudonym, instelling, id), typed columns, the contract."""

    name: str
    id_column: str
    model: type[Episode]
    columns: Columns


@dataclass(frozen=True)
class Entity:
    """One entity of the registry."""

    name: str  # the change's ``entity`` value (and, when event-sourced, the event type and topic)
    episode: type[Episode]
    change: type[ChangeBase]
    id_field: str  # the episode field (and table column) that holds the entity id
    table: str  # PostgreSQL table
    columns: Columns  # typed columns besides pseudonym, instelling, id and the episode JSON
    #: the episode of one entity from its effective facts (event-sourced entities only)
    project: Callable[[Sequence[AnyFact]], tuple[Any, list[Finding]]] | None = None
    #: the aanmelding an entity's facts name, if the entity can name one
    names_aanmelding: Callable[[Sequence[AnyFact]], str | None] | None = None

    @property
    def event_sourced(self) -> bool:
        return self.project is not None

    @property
    def storage(self) -> Table:
        return Table(self.table, self.id_field, self.episode, self.columns)


_CHILD_COLUMNS: Columns = (
    ("gemeente", "text", "gemeente"),
    ("birth_date", "date", "birth_date"),
)

_ENTITIES: tuple[Entity, ...] = (
    Entity(
        "aanmelding",
        AanmeldingEpisode,
        AanmeldingChange,
        "aanmelding_id",
        "registry.aanmeldingen",
        (
            ("verwijzer", "text", "verwijzer"),
            ("zorgvorm", "text", "zorgvorm"),
            ("urgent", "boolean", "urgent"),
            ("day", "date", "day"),
            ("beschikking_date", "date", "beschikking_date"),
            ("plaatsing_date", "date", "plaatsing_date"),
            ("herhaald", "boolean", "herhaald"),
            *_CHILD_COLUMNS,
        ),
        project=aanmelding.project,
    ),
    Entity(
        "beschikking",
        BeschikkingEpisode,
        BeschikkingChange,
        "beschikking_id",
        "registry.beschikkingen",
        (
            ("soort", "text", "soort"),
            ("start_date", "date", "start"),
            ("end_date", "date", "end"),
            *_CHILD_COLUMNS,
        ),
        project=beschikking.project,
        names_aanmelding=beschikking.aanmelding_id,
    ),
    Entity(
        "plaatsing",
        PlaatsingEpisode,
        PlaatsingChange,
        "plaatsing_id",
        "registry.plaatsingen",
        (
            ("provider", "text", "provider"),
            ("vorm", "text", "vorm"),
            ("start_date", "date", "start"),
            ("end_date", "date", "end"),
            ("reden_einde", "text", "reden_einde"),
            ("overplaatsing", "boolean", "overplaatsing"),
            *_CHILD_COLUMNS,
        ),
        project=plaatsing.project,
        names_aanmelding=plaatsing.aanmelding_id,
    ),
    Entity(
        "separatie",
        SeparatieEpisode,
        SeparatieChange,
        "separatie_id",
        "registry.separatie_episodes",
        (
            ("vorm", "text", "vorm"),
            ("start_at", "timestamptz", "start"),
            ("end_at", "timestamptz", "end"),
            *_CHILD_COLUMNS,
        ),
        project=separatie.project,
    ),
    Entity(
        "jeugdreclassering",
        JeugdreclasseringEpisode,
        JeugdreclasseringChange,
        "jeugdreclassering_id",
        "registry.jeugdreclasseringen",
        (
            ("start_date", "date", "start"),
            ("end_date", "date", "end"),
            *_CHILD_COLUMNS,
        ),
        project=jeugdreclassering.project,
    ),
    Entity(
        "achttien_in_pleegzorg",
        AchttienFact,
        AchttienChange,
        "plaatsing_id",
        "registry.achttien_facts",
        (
            ("vorm", "text", "vorm"),
            ("birthday", "date", "birthday"),
            ("continues", "boolean", "continues"),
            *_CHILD_COLUMNS,
        ),
    ),
    Entity(
        "verblijf_segment",
        VerblijfSegment,
        VerblijfSegmentChange,
        "segment_id",
        "registry.verblijf_segmenten",
        (
            ("groep", "text", "groep"),
            ("plaatsing_id", "text", "plaatsing_id"),
            ("vorm", "text", "vorm"),
            ("start_date", "date", "start"),
            ("end_date", "date", "end"),
            *_CHILD_COLUMNS,
        ),
    ),
)

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

"""What the registry keeps of one entity, as data: its contracts, id field, table and projection.

An event-sourced entity is declared by its handler module (``handlers/<event type>.py`` exports ``ENTITY``, built
with :meth:`Entity.of` from the event type's ``Kind``); the derived ones by ``entities``. ``entities`` collects them
into the one table every registry list is derived from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase
from jeugdstroom.common.contracts.kind import Kind
from jeugdstroom.registry.handlers.facts import AnyFact, Finding

#: Any entity episode the registry stores (the ``before``/``after`` of the change contracts).
Episode = EntityBase
Columns = tuple[tuple[str, str, str], ...]  # (column, PostgreSQL type, field of the episode)
#: The child's columns every entity table has (besides pseudonym, instelling, id and the episode JSON).
CHILD_COLUMNS: Columns = (
    ("gemeente", "text", "gemeente"),
    ("birth_date", "date", "birth_date"),
)


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
    columns: Columns  # typed columns besides pseudonym, instelling, id and the episode JSON (child columns added)
    #: the episode of one entity from its effective facts (event-sourced entities only)
    project: Callable[[Sequence[AnyFact]], tuple[Any, list[Finding]]] | None = None
    #: the aanmelding an entity's facts name, if the entity can name one
    names_aanmelding: Callable[[Sequence[AnyFact]], str | None] | None = None

    @classmethod
    def of(
        cls,
        kind: Kind,
        table: str,
        columns: Columns,
        project: Callable[[Sequence[Any]], tuple[Any, list[Finding]]],
        names_aanmelding: Callable[[Sequence[Any]], str | None] | None = None,
    ) -> Entity:
        """The event-sourced entity of an event type: name, contracts and id field from its kind."""
        return cls(
            kind.name, kind.episode, kind.change, kind.id_field, table, (*columns, *CHILD_COLUMNS), project,
            names_aanmelding,
        )

    @property
    def event_sourced(self) -> bool:
        return self.project is not None

    @property
    def storage(self) -> Table:
        return Table(self.table, self.id_field, self.episode, self.columns)

"""What one event type is, as data: the descriptor every module of ``contracts.kinds`` exports as ``KIND``.

An event type that describes an entity (all but ``correctie``) is one module: its codes, its ``data`` contract, its
event class, the registry's episode of the entity and its change contract, and an example. Everything that lists
event types (the unions, the topics, intake's examples, the registry's consumed topics) is derived from ``KINDS``
(``contracts.kinds``), so adding a type adds a module there and nothing to those lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast, get_args

if TYPE_CHECKING:
    from pydantic import BaseModel

    from jeugdstroom.common.contracts.changes import ChangeBase, EntityBase


@dataclass(frozen=True)
class Kind:
    """One event type and the registry entity it describes (the event type, its topic and the entity share the
    name; the event's ``data`` carries the entity id in ``{name}_id``)."""

    order: int  # the place of the type in every derived list (unions, topics, tables): a new type takes the next
    event: type[BaseModel]  # the generic event class, e.g. ``Separatie`` (``Separatie[PublishedChild]`` on a topic)
    change: type[ChangeBase]  # the registry change contract (``before``/``after`` are the entity's episode)
    example: dict[str, Any] = field(default_factory=dict)  # one valid submitted event (OpenAPI docs; unit-tested)

    @property
    def name(self) -> str:
        """The event type: the ``type`` Literal of the event class."""
        (value,) = get_args(self.event.model_fields["type"].annotation)
        return str(value)

    def form(self, child: Any) -> type[BaseModel]:
        """The event class for one form of the child (``SubmittedChild``, ``PublishedChild``, or the type variable
        ``ChildT`` inside a generic contract): ``event[child]``."""
        cls: type[BaseModel] = cast(Any, self.event)[child]
        return cls

    @property
    def data(self) -> type[BaseModel]:
        """The ``data`` contract."""
        data = self.event.model_fields["data"].annotation
        assert isinstance(data, type)
        return data

    @property
    def episode(self) -> type[EntityBase]:
        """The registry's version of the entity (the change's ``after``, without ``None``)."""
        (episode,) = (a for a in get_args(self.change.model_fields["after"].annotation) if a is not type(None))
        assert isinstance(episode, type)
        return episode

    @property
    def id_field(self) -> str:
        """The field of ``data`` and of the episode that holds the entity id."""
        return f"{self.name}_id"

    def check(self) -> None:
        """The conventions the derived lists rely on; raises AssertionError naming the type."""
        name = self.name
        assert self.change.model_fields["entity"].default == name, f"{name}: the change's entity must be {name!r}"
        assert self.id_field in self.data.model_fields, f"{name}: data has no {self.id_field}"
        assert self.id_field in self.episode.model_fields, f"{name}: the episode has no {self.id_field}"
        assert not self.example or self.example.get("type") == name, f"{name}: the example is of another type"

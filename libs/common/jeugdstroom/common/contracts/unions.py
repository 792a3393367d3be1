"""Every list of event types and entities, derived from ``contracts.kinds`` (no list here names a type).

* ``SubmittedEvent`` / ``PublishedEvent``: any event as intake accepts / publishes it (discriminated by ``type``);
* ``RegistryChange``: any registry change (discriminated by ``entity``): the kinds' entities and the registry's
  derived ones (``contracts.changes``);
* ``EVENT_TYPES``: every event type (the typed topics), correctie last.

For the type checker the unions are their common base (``EventBase``/``ChangeBase``, which declare ``type``/``data``
and ``entity``/``before``/``after``): a union built at import time cannot be spelled statically. Code that needs one
type's fields takes that type's contract from its module.
"""

from typing import TYPE_CHECKING, Annotated, TypeAlias, Union, cast

from pydantic import Field

from jeugdstroom.common.contracts.changes import AchttienChange, ChangeBase, VerblijfSegmentChange
from jeugdstroom.common.contracts.correctie import Correctie
from jeugdstroom.common.contracts.events import EventBase, PublishedChild, SubmittedChild
from jeugdstroom.common.contracts.kind import Kind
from jeugdstroom.common.contracts.kinds import BY_NAME, KINDS

#: Every event type, in ``KINDS`` order, then correctie.
EVENT_TYPES: tuple[str, ...] = (*(k.name for k in KINDS), "correctie")
EventType: TypeAlias = str
#: The registry's entities that are not event types: derived across one child's care path.
DERIVED_CHANGES: tuple[type[ChangeBase], ...] = (AchttienChange, VerblijfSegmentChange)


def submitted_class(kind: Kind) -> type[EventBase[SubmittedChild]]:
    """The submitted form of a kind's event (child by BSN)."""
    return cast(type[EventBase[SubmittedChild]], kind.form(SubmittedChild))


def published_class(kind: Kind) -> type[EventBase[PublishedChild]]:
    """The published form of a kind's event (child by pseudonym)."""
    return cast(type[EventBase[PublishedChild]], kind.form(PublishedChild))


#: Event type → its published class (correctie included).
PUBLISHED_CLASSES: dict[str, type[EventBase[PublishedChild]]] = {
    **{k.name: published_class(k) for k in KINDS},
    "correctie": Correctie[PublishedChild],
}
#: Entity → its change contract: the kinds', then the derived ones.
CHANGE_CLASSES: dict[str, type[ChangeBase]] = {
    **{k.name: k.change for k in KINDS},
    **{cast(str, c.model_fields["entity"].default): c for c in DERIVED_CHANGES},
}

if TYPE_CHECKING:
    AnySubmitted: TypeAlias = EventBase[SubmittedChild]
    AnyPublished: TypeAlias = EventBase[PublishedChild]
    SubmittedEvent: TypeAlias = AnySubmitted
    PublishedEvent: TypeAlias = AnyPublished
    AnyChange: TypeAlias = ChangeBase
    RegistryChange: TypeAlias = ChangeBase
else:
    AnySubmitted = Union[(*(submitted_class(k) for k in KINDS), Correctie[SubmittedChild])]
    AnyPublished = Union[tuple(PUBLISHED_CLASSES.values())]  # noqa: UP007
    SubmittedEvent = Annotated[AnySubmitted, Field(discriminator="type")]
    PublishedEvent = Annotated[AnyPublished, Field(discriminator="type")]
    AnyChange = Union[tuple(CHANGE_CLASSES.values())]  # noqa: UP007
    RegistryChange = Annotated[AnyChange, Field(discriminator="entity")]

__all__ = [
    "BY_NAME",
    "CHANGE_CLASSES",
    "DERIVED_CHANGES",
    "EVENT_TYPES",
    "KINDS",
    "PUBLISHED_CLASSES",
    "AnyChange",
    "AnyPublished",
    "AnySubmitted",
    "EventType",
    "PublishedEvent",
    "RegistryChange",
    "SubmittedEvent",
    "published_class",
    "submitted_class",
]

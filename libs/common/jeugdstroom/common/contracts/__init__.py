"""Event contracts. Import from here: ``from jeugdstroom.common.contracts import ...``."""

from jeugdstroom.common.contracts.events import SCHEMA_VERSION, PublishedChild, SubmittedChild, event_uid
from jeugdstroom.common.contracts.unions import EVENT_TYPES, EventType, PublishedEvent, SubmittedEvent
from jeugdstroom.common.contracts.validation import (
    FieldError,
    parse_published,
    parse_submitted,
)

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "EventType",
    "FieldError",
    "PublishedChild",
    "PublishedEvent",
    "SubmittedChild",
    "SubmittedEvent",
    "event_uid",
    "parse_published",
    "parse_submitted",
]

"""The records the handlers work on: an event as a fact, a correctie as a correction, and findings."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jeugdstroom.common.calendar import local_day as local_day  # the handlers take an event's day from here


@dataclass(frozen=True, slots=True)
class Fact:
    """One aanmelding/beschikking/plaatsing/separatie event (or a replacement of one), child by pseudonym."""

    uid: str
    type: str
    sender: str
    occurred_at: datetime
    pseudonym: str
    birth_date: date
    gemeente: str
    data: Mapping[str, Any]  # the event's ``data`` as JSON values
    geslacht: str | None = None  # the child's geslacht as this event gives it (None: not given)

    @classmethod
    def from_json(cls, uid: str, event: Mapping[str, Any]) -> Fact:
        """A fact from a published event as JSON (``json_value`` of the contract)."""
        child = event["child"]
        return cls(
            uid=uid,
            type=event["type"],
            sender=event["sender"],
            occurred_at=datetime.fromisoformat(event["occurred_at"]),
            pseudonym=child["pseudonym"],
            birth_date=date.fromisoformat(child["birth_date"]),
            gemeente=child["gemeente"],
            data=event["data"],
            geslacht=child.get("geslacht"),
        )

    @property
    def entity_id(self) -> str:
        """The entity id: ``data["{type}_id"]`` (the convention of every event-sourced entity, see ``entities``)."""
        return str(self.data[f"{self.type}_id"])

    @property
    def key(self) -> str:
        """The entity key: ``{instelling}/{entity id}``."""
        return f"{self.sender}/{self.entity_id}"

    @property
    def order(self) -> tuple[datetime, str]:
        """Event time, then uid: a total order that does not depend on arrival."""
        return (self.occurred_at, self.uid)

    def get_date(self, field: str) -> date | None:
        value = self.data.get(field)
        return date.fromisoformat(value) if value is not None else None

    def get_datetime(self, field: str) -> datetime | None:
        value = self.data.get(field)
        return datetime.fromisoformat(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Correction:
    """A correctie: withdraws (``replacement`` None) or replaces the sender's event ``target_uid``."""

    uid: str
    target_uid: str
    action: str
    occurred_at: datetime
    pseudonym: str  # the child named by the correctie event itself
    sender: str
    replacement: Fact | None

    @classmethod
    def from_json(cls, uid: str, event: Mapping[str, Any]) -> Correction:
        data = event["data"]
        sender = event["sender"]
        target_uid = f"{sender}/{data['target_id']}"
        replacement = data.get("replacement")
        return cls(
            uid=uid,
            target_uid=target_uid,
            action=data["action"],
            occurred_at=datetime.fromisoformat(event["occurred_at"]),
            pseudonym=event["child"]["pseudonym"],
            sender=sender,
            replacement=Fact.from_json(target_uid, replacement) if replacement is not None else None,
        )

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.occurred_at, self.uid)


#: ``Fact.order`` / ``Correction.order`` as a key function (C-level: the handlers sort and compare facts a lot).
ORDER: Callable[[Fact | Correction], tuple[datetime, str]] = operator.attrgetter("occurred_at", "uid")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """A data-quality finding about one child: ``kind`` is a bounded code, ``subject`` what it is about."""

    kind: str
    subject: str
    instelling: str | None
    reason: str


def latest(facts: Iterable[Fact]) -> Fact:
    """The fact with the latest event time (ties by uid)."""
    return max(facts, key=ORDER)


def latest_with(facts: Iterable[Fact], field: str) -> Fact | None:
    """The latest fact whose data carries ``field``, or None."""
    return max((f for f in facts if f.data.get(field) is not None), key=ORDER, default=None)


#: Event statuses that report the end of an entity (every other event reports or restates its start).
END_STATUSES = frozenset({"beeindigd"})


def starting(facts: Iterable[Fact]) -> Fact:
    """The event that starts an entity: its earliest fact that is not an end report (``status`` beeindigd), or
    its earliest fact when only end reports exist (by event time, ties by uid)."""
    facts = list(facts)
    starts = [f for f in facts if f.data.get("status") not in END_STATUSES]
    return min(starts or facts, key=ORDER)


#: The geslacht values that say something: ``onbekend`` (or no value) never overrides a known one.
KNOWN_GESLACHT = frozenset({"man", "vrouw"})


def geslacht(facts: Iterable[Fact]) -> str:
    """The child's latest known geslacht: that of its latest fact (event time, ties by uid) giving man or vrouw, so a
    later event that leaves it out (or says onbekend) does not erase it, and a later event that gives another value
    (e.g. a correction) wins; ``onbekend`` when no fact gives one (docs/indicators.md, Dimensions)."""
    known = max((f for f in facts if f.geslacht in KNOWN_GESLACHT), key=ORDER, default=None)
    return known.geslacht if known is not None and known.geslacht is not None else "onbekend"


def child_fields(facts: Iterable[Fact], last: Fact | None = None) -> dict[str, Any]:
    """The child fields of an episode: pseudonym and birth date from its latest fact (``last``, when the caller
    knows it already), gemeente from the event that starts it (:func:`starting`: the woonplaats when the episode
    began, so a later address change never moves the episode to another gemeente)."""
    facts = list(facts)
    last = last or latest(facts)
    return {
        "instelling": last.sender,
        "pseudonym": last.pseudonym,
        "gemeente": starting(facts).gemeente,
        "birth_date": last.birth_date,
    }

"""What senders do to a clean story on its way to intake: the faults a real stream has.

* **late**: most events are sent minutes after they happen, some days later;
* **duplicate**: an event is sent again with the same id and the same content (a retry);
* **correctie**: a sender sends a wrong event and corrects it days later — ``vervangen`` with the right
  content (same id, same sender), or ``intrekken`` of an event that should never have been sent (a second
  aanmelding or episode; a placement that ended in an overplaatsing just before a real one, which makes the
  real one a transfer until the withdrawal turns it back into instroom);
* **invalid**: an event that breaks the contract (a BSN failing the elfproef, an unknown code, an end
  before its start, a time without offset, a time far in the future, a malformed gemeente code, a missing
  field, a ``vervangen`` without replacement); intake must reject it. Invalid copies get their own id.

Out-of-order delivery comes from lateness and from shuffling the stream in bounded windows (``stream.py``).
Every fault keeps the story's meaning: after corrections and without duplicates or invalid events, what the
senders said is exactly the clean story.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from jeugdstroom.common.contracts import kinds as contracts
from jeugdstroom.simulator.kinds import KINDS
from jeugdstroom.simulator.story import AMS, VERWIJZERS, Ev, Window

P_LATE = 0.03
P_DUPLICATE = 0.015
P_INVALID = 0.004
P_INVALID_CORRECTIE = 0.0005
#: Per event type: the share of its events sent wrong and corrected (``vervangen``), resp. followed by one that
#: should never have been sent (withdrawn: ``intrekken``); the types with their own module (simulator/kinds) say theirs.
P_REPLACE = {
    "aanmelding": 0.01,
    "plaatsing": 0.03,
    "beschikking": 0.015,
    **{kind.type: kind.replace_rate for kind in KINDS if kind.replace_rate},
}
P_WITHDRAW = {
    "aanmelding": 0.01,
    "plaatsing": 0.02,
    **{kind.type: kind.withdraw_rate for kind in KINDS if kind.withdraw_rate},
}
#: The mistakes of the types with their own module (change the data of a copy; False: none to make).
WRONG_VERSIONS = {kind.type: kind.wrong_version for kind in KINDS if kind.wrong_version is not None}


@dataclass(slots=True)
class Emission:
    """One event as sent: its JSON value, when it is sent (UTC), and what the sender did (``fault``)."""

    event: dict[str, Any]
    send_at: datetime
    invalid: bool = False
    fault: str = ""  # "", late, duplicate, wrong (later corrected), correctie, invalid


def _send_time(rng: random.Random, at: datetime, window: Window) -> tuple[datetime, bool]:
    start = datetime.combine(window.start, time(0), AMS).astimezone(UTC)
    if at < start:  # backlog of care that began before the window: sent in the first day and a half
        return start + timedelta(minutes=rng.randrange(0, 36 * 60)), False
    if rng.random() < P_LATE:
        return at + timedelta(days=rng.randrange(1, 15), minutes=rng.randrange(0, 600)), True
    return at + timedelta(minutes=rng.randrange(1, 180), seconds=rng.randrange(60)), False


def _local_iso(at: datetime) -> str:
    return at.astimezone(AMS).isoformat(timespec="seconds")


def add_faults(clean: list[Ev], rng: random.Random, window: Window) -> list[Emission]:
    """The emissions of one child's clean events, with the senders' faults added."""
    out: list[Emission] = []
    limit = datetime.combine(window.as_of, time(18), AMS).astimezone(UTC)
    for ev in clean:
        event = ev.event
        send_at, late = _send_time(rng, ev.at, window)
        corr_at = datetime.combine(
            send_at.astimezone(AMS).date() + timedelta(days=rng.randrange(1, 11)),
            time(9 + rng.randrange(8), rng.randrange(60)),
            AMS,
        ).astimezone(UTC)
        etype = event["type"]
        correctable = corr_at <= limit and ev.at >= datetime.combine(window.start, time(0), AMS).astimezone(UTC)
        roll = rng.random()
        wrong = _wrong_version(event, rng) if correctable and roll < P_REPLACE.get(etype, 0.0) else None
        if wrong is not None:
            out.append(Emission(wrong, send_at, fault="wrong"))
            out.append(
                Emission(
                    _correctie(event, f"{event['id']}-c", corr_at, "vervangen", event),
                    corr_at + timedelta(minutes=rng.randrange(1, 60)),
                    fault="correctie",
                )
            )
        else:
            out.append(Emission(event, send_at, fault="late" if late else ""))
        spurious = None
        if correctable and wrong is None and rng.random() < P_WITHDRAW.get(etype, 0.0):
            spurious = _spurious(event, rng)
        if spurious is not None:
            spurious_at = send_at + timedelta(minutes=rng.randrange(1, 240))
            out.append(Emission(spurious, spurious_at, fault="wrong"))
            out.append(
                Emission(
                    _correctie(spurious, f"{spurious['id']}-c", corr_at, "intrekken", None),
                    corr_at + timedelta(minutes=rng.randrange(1, 60)),
                    fault="correctie",
                )
            )
        if rng.random() < P_DUPLICATE:
            first = out[-1] if out[-1].fault != "correctie" else out[-2]
            again = first.send_at + timedelta(minutes=rng.randrange(1, 2 * 24 * 60))
            out.append(Emission(first.event, again, fault="duplicate"))
        if rng.random() < P_INVALID:
            bad = _invalid(event, rng, window)
            out.append(
                Emission(bad, send_at + timedelta(seconds=rng.randrange(1, 1800)), invalid=True, fault="invalid")
            )
        if rng.random() < P_INVALID_CORRECTIE:
            bad = _correctie(event, f"{event['id']}-xc", send_at + timedelta(minutes=5), "vervangen", None)
            out.append(Emission(bad, send_at + timedelta(minutes=6), invalid=True, fault="invalid"))
    return out


def _correctie(
    target: dict[str, Any], event_id: str, at: datetime, action: str, replacement: dict[str, Any] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"target_id": target["id"], "action": action}
    if replacement is not None:
        data["replacement"] = replacement
    return {
        "id": event_id,
        "type": "correctie",
        "schema_version": 1,
        "occurred_at": _local_iso(at),
        "sender": target["sender"],
        "child": target["child"],
        "data": data,
    }


def _wrong_version(event: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """The same event with one plausible mistake in it (the correction replaces it by ``event``)."""
    wrong = copy.deepcopy(event)
    data = wrong["data"]
    etype = event["type"]
    if etype in WRONG_VERSIONS:
        return wrong if WRONG_VERSIONS[etype](data, rng) else None
    if etype == "aanmelding":
        data["verwijzer"] = rng.choice([v for v in VERWIJZERS if v != data["verwijzer"]])
    elif etype == "plaatsing":
        if data["status"] != "beeindigd":
            return None
        if data["reden_einde"] != "voortijdig" and rng.random() < 0.5:
            data["reden_einde"] = "voortijdig"
        else:
            end = date.fromisoformat(data["end"])
            shift = min(rng.randrange(1, 11), (end - date.fromisoformat(data["start"])).days)
            if shift <= 0:
                return None
            data["end"] = (end - timedelta(days=shift)).isoformat()
    elif etype == "beschikking":
        if data["status"] != "afgegeven" or "aanmelding_id" not in data:
            return None
        start = date.fromisoformat(data["start"])
        room = (date.fromisoformat(data["end"]) - start).days - 1 if "end" in data else 10
        shift = min(rng.randrange(1, 11), room)
        if shift <= 0:
            return None
        data["start"] = (start + timedelta(days=shift)).isoformat()
    else:
        return None
    return wrong


def _spurious(event: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    """An event that should never have been sent (registered twice, wrong child file): withdrawn later. For a
    placement start: an earlier placement of the same form that ended with reden overplaatsing the day before, so
    that the real placement looks like a transfer until the withdrawal turns it back into instroom."""
    wrong = copy.deepcopy(event)
    wrong["id"] = f"{event['id']}-s"
    data = wrong["data"]
    if event["type"] == "plaatsing":
        if data["status"] != "gestart":
            return None
        start = date.fromisoformat(data["start"])
        data.pop("aanmelding_id", None)
        data |= {
            "plaatsing_id": f"{data['plaatsing_id']}-s",
            "status": "beeindigd",
            "start": (start - timedelta(days=rng.randrange(10, 40))).isoformat(),
            "end": (start - timedelta(days=1)).isoformat(),
            "reden_einde": "overplaatsing",
        }
    elif event["type"] == "aanmelding":
        data["aanmelding_id"] = f"{data['aanmelding_id']}-s"
        data["zorgvorm"] = rng.choice(("pleegzorg", "ambulant", "residentieel"))
    else:  # registered twice: the same episode under a second id
        key = f"{event['type']}_id"
        data[key] = f"{data[key]}-s"
    return wrong


def _invalid(event: dict[str, Any], rng: random.Random, window: Window) -> dict[str, Any]:
    """A copy of ``event`` (with its own id) that breaks one rule of the contract."""
    kinds = ["bsn", "bsn", "gemeente", "naive_time", "future", "unknown_code", "missing"]
    if "end" in event["data"]:
        kinds += ["end_before_start", "end_before_start"]
    return broken(event, rng.choice(kinds), rng, window)


#: The rules an invalid event breaks (``broken``).
INVALID_KINDS = ("bsn", "gemeente", "naive_time", "future", "unknown_code", "missing", "end_before_start")


def broken(event: dict[str, Any], kind: str, rng: random.Random, window: Window) -> dict[str, Any]:
    """A copy of ``event`` (with its own id) that breaks the rule ``kind`` (one of INVALID_KINDS)."""
    bad = copy.deepcopy(event)
    bad["id"] = f"{event['id']}-x"
    data = bad["data"]
    etype = event["type"]
    if kind == "bsn":
        bsn = bad["child"]["bsn"]
        bad["child"] = {**bad["child"], "bsn": bsn[:8] + str((int(bsn[8]) + 1) % 10)}
    elif kind == "gemeente":
        bad["child"] = {**bad["child"], "gemeente": bad["child"]["gemeente"][:5]}
    elif kind == "naive_time":
        bad["occurred_at"] = (
            datetime.fromisoformat(event["occurred_at"])
            .astimezone(AMS)
            .replace(tzinfo=None)
            .isoformat(timespec="seconds")
        )
    elif kind == "future":
        future = datetime.combine(date(window.as_of.year + 100, 1, 1), time(12), AMS)  # always in the future
        bad["occurred_at"] = future.isoformat(timespec="seconds")
    elif kind == "unknown_code":
        field, value = outside_enum(etype)
        data[field] = value
    elif kind == "missing":
        del data[required_field(etype)]
    elif kind != "end_before_start":
        raise ValueError(f"unknown kind of invalid event: {kind}")
    elif _holds_moments(etype):  # an end before the start, of a time ...
        data["end"] = (datetime.fromisoformat(data["start"]) - timedelta(minutes=30)).isoformat()
    else:  # ... or of a day
        data["end"] = (date.fromisoformat(data["start"]) - timedelta(days=rng.randrange(1, 30))).isoformat()
    return bad


# -- the contract's rules, per event type (derived from the submitted contract: nothing here names a type) --------
#: Codes that no closed enum of the contract holds (the first one an enum lacks breaks it).
OUTSIDE_CODES = ("onbekend", "overig", "niet_van_toepassing")


#: Each event type's ``data`` model (the contract's kinds; a correctie is never broken).
DATA_MODELS: dict[str, type[BaseModel]] = {kind.name: kind.data for kind in contracts.KINDS}


def _literal_values(annotation: Any) -> tuple[str, ...]:
    """The values of a closed enum (a Literal, optional or not); empty for any other type."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(v for arg in get_args(annotation) if get_origin(arg) is Literal for v in get_args(arg))


@cache
def outside_enum(etype: str) -> tuple[str, str]:
    """The first closed-enum field of the type's data, and a code outside its enum."""
    for name, info in DATA_MODELS[etype].model_fields.items():
        if values := _literal_values(info.annotation):
            return name, next(code for code in OUTSIDE_CODES if code not in values)
    raise ValueError(f"{etype}: no closed enum in its data")


@cache
def required_field(etype: str) -> str:
    """The first required field of the type's data other than its id."""
    fields = DATA_MODELS[etype].model_fields
    return next(name for name, info in fields.items() if info.is_required() and name != f"{etype}_id")


@cache
def _holds_moments(etype: str) -> bool:
    """Whether the type's ``start`` is a moment (a time with offset) rather than a day."""
    return DATA_MODELS[etype].model_fields["start"].annotation is not date

"""From a parsed iJw message to jeugdstroom events (submitted form, child by BSN), and through intake's own checks.

Rules (docs/ijw.md has the full table):

* JW315 verzoek om toewijzing: one ``aanmelding`` per AangevraagdProduct (Verwijzer Type COD327 → verwijzer,
  product → zorgvorm);
* JW301 toewijzing: one ``beschikking`` ``toewijzing`` per ToegewezenProduct (Ingangsdatum/Einddatum);
* JW305 start jeugdhulp: ``plaatsing gestart`` per StartProduct whose product is a placement form;
* JW307 stop jeugdhulp: ``plaatsing beeindigd`` per StopProduct whose product is a placement form, with
  RedenBeeindiging (JZ588) → reden_einde;
* StatusAanlevering 2 (gewijzigd) → ``correctie vervangen``, 3 (verwijderen) → ``correctie intrekken``, both
  targeting the id the record's first delivery (StatusAanlevering 1) produced.

Event ids are deterministic (docs/ijw.md, "Event ids"): the same message sent again yields the same events, which
intake answers as duplicates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo

from jeugdstroom.common.contracts.codes import VERWIJZER_COD327, RedenEinde, Verwijzer
from jeugdstroom.intake.ijw.mapping import ProductKind, ProductMapping, UnmappedProduct
from jeugdstroom.intake.ijw.message import IjwRejected, Message, Problem, Record
from jeugdstroom.intake.submission import FORBIDDEN_SENDER, Checked, check

#: iJw dates and times are Dutch local time.
TZ: Final = ZoneInfo("Europe/Amsterdam")
VERWIJZER_BY_CODE: Final[dict[str, Verwijzer]] = {
    code: name for name, code in VERWIJZER_COD327.items() if code is not None  # type: ignore[misc]
}
_SAFE_PART = re.compile(r"[A-Za-z0-9._-]{1,24}")


def reden_einde(code: str) -> RedenEinde:
    """RedenBeeindiging (JZ588) → reden_einde: 31 volgens plan, 32–35 voortijdig, 38 overstap, else anders."""
    if code == "31":
        return "volgens_plan"
    if code in ("32", "33", "34", "35"):
        return "voortijdig"
    if code == "38":
        return "overplaatsing"
    return "anders"


def id_part(value: str) -> str:
    """A value as part of an event id: itself when short and plain, otherwise a stable digest."""
    if _SAFE_PART.fullmatch(value):
        return value
    return "~" + hashlib.sha256(value.encode()).hexdigest()[:16]


def _midnight(day: date) -> str:
    return datetime.combine(day, time(0), TZ).isoformat()


@dataclass(frozen=True, slots=True)
class Derived:
    """One event derived from the record at ``element``."""

    element: str
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    element: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"element": self.element, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Conversion:
    events: list[Derived]
    skipped: list[Skipped]


def sender_of(msg: Message) -> str:
    """The jeugdstroom sender code of a message: GM + the gemeente for JW301, the provider's AGB otherwise."""
    return "GM" + msg.header.afzender if msg.kind == "jw301" else msg.header.afzender


def gemeente_of(msg: Message) -> str:
    """The child's gemeente (woonplaatsbeginsel: the gemeente in the message), as GM####."""
    return "GM" + (msg.header.afzender if msg.kind == "jw301" else msg.header.ontvanger)


class _Builder:
    def __init__(self, msg: Message, mapping: ProductMapping) -> None:
        self.msg = msg
        self.mapping = mapping
        self.sender = sender_of(msg)
        self.gemeente = gemeente_of(msg)
        self.message_id = f"{id_part(msg.header.identificatie)}:{msg.header.dagtekening.isoformat()}"
        self.problems: list[Problem] = []
        self.events: list[Derived] = []
        self.skipped: list[Skipped] = []

    def event(self, event_id: str, kind: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
        child = {"bsn": self.msg.client.bsn, "birth_date": self.msg.client.birth_date.isoformat(),
                 "gemeente": self.gemeente}
        return {"id": event_id, "type": kind, "schema_version": 1, "occurred_at": occurred_at,
                "sender": self.sender, "child": child, "data": data}

    def product(self, rec: Record, purpose: str) -> ProductKind | None:
        categorie = rec.get("Product/Categorie")
        if categorie is None:
            self.problems.append(Problem(f"{rec.element}/Product", f"is required: jeugdstroom derives {purpose} "
                                                                   "from the product"))
            return None
        try:
            return self.mapping.resolve(self.gemeente, categorie, rec.get("Product/Code"))
        except UnmappedProduct as exc:
            self.problems.append(Problem(f"{rec.element}/Product", exc.reason))
            return None

    def jw315(self, rec: Record) -> None:
        kind = self.product(rec, "the zorgvorm")
        if kind is None:
            return
        ref = id_part(rec.fields["ReferentieAanbieder"])
        self.events.append(Derived(rec.element, self.event(
            f"ijw:jw315:{self.message_id}:{ref}", "aanmelding", _midnight(self.msg.header.dagtekening),
            {"aanmelding_id": f"ijw:{self.msg.header.afzender}:{ref}",
             "verwijzer": VERWIJZER_BY_CODE[rec.fields["Verwijzer/Type"]], "zorgvorm": kind.zorgvorm},
        )))

    def jw301(self, rec: Record) -> None:
        tn = id_part(rec.fields["ToewijzingNummer"])
        decided = datetime.combine(date.fromisoformat(rec.fields["Toewijzingsdatum"]),
                                   time.fromisoformat(rec.fields["Toewijzingstijd"]), TZ)
        data: dict[str, Any] = {"beschikking_id": f"ijw:{tn}", "soort": "toewijzing", "status": "afgegeven",
                                "start": rec.fields["Ingangsdatum"]}
        if rec.get("Einddatum"):
            data["end"] = rec.fields["Einddatum"]
        ref = rec.get("ReferentieAanbieder")
        if ref:
            data["aanmelding_id"] = f"ijw:{self.msg.header.ontvanger}:{id_part(ref)}"
        self.events.append(Derived(rec.element, self.event(
            f"ijw:jw301:{self.message_id}:{tn}", "beschikking", decided.isoformat(), data)))

    def placement(self, rec: Record) -> None:
        """JW305/JW307: a plaatsing event, or a correctie of the record's first delivery."""
        tn_raw = rec.get("ToewijzingNummer")
        if not tn_raw:
            self.problems.append(Problem(f"{rec.element}/ToewijzingNummer",
                                         "is required: it identifies the placement"))
            return
        kind = self.product(rec, "whether this is a placement")
        if kind is None:
            return
        if kind.vorm is None:
            self.skipped.append(Skipped(rec.element, f"product is not a placement form (zorgvorm {kind.zorgvorm})"))
            return
        tn = id_part(tn_raw)
        begin = rec.fields["Begindatum"]
        data: dict[str, Any] = {"plaatsing_id": f"ijw:{tn}:{begin}", "status": "gestart", "vorm": kind.vorm,
                                "provider": self.msg.header.afzender, "start": begin}
        occurred = _midnight(date.fromisoformat(begin))
        if self.msg.kind == "jw307":
            data.update(status="beeindigd", end=rec.fields["Einddatum"],
                        reden_einde=reden_einde(rec.fields["RedenBeeindiging"]))
            occurred = _midnight(date.fromisoformat(rec.fields["Einddatum"]))
        original_id = f"ijw:{self.msg.kind}:{tn}:{begin}"
        plaatsing = self.event(original_id, "plaatsing", occurred, data)
        status = rec.fields["StatusAanlevering"]
        if status == "1":
            self.events.append(Derived(rec.element, plaatsing))
            return
        correctie: dict[str, Any] = {"target_id": original_id, "action": "intrekken"}
        if status == "2":
            correctie.update(action="vervangen", replacement=plaatsing)
        self.events.append(Derived(rec.element, self.event(
            f"{original_id}:{self.message_id}", "correctie", _midnight(self.msg.header.dagtekening), correctie)))


def convert(msg: Message, mapping: ProductMapping) -> Conversion:
    """Every event the message stands for; raises IjwRejected when any record cannot be converted."""
    b = _Builder(msg, mapping)
    handle = {"jw315": b.jw315, "jw301": b.jw301, "jw305": b.placement, "jw307": b.placement}[msg.kind]
    for rec in msg.records:
        handle(rec)
    seen: dict[str, str] = {}
    for derived in b.events:
        first = seen.setdefault(derived.event["id"], derived.element)
        if first != derived.element:
            b.problems.append(Problem(derived.element, f"repeats the record at {first} (same identity)"))
    if b.problems:
        raise IjwRejected(b.problems)
    return Conversion(b.events, b.skipped)


def checked_events(derived: Sequence[Derived], sender_code: str, key: bytes) -> list[Checked]:
    """Run every derived event through intake's own validation and pseudonymisation (``submission.check``);
    raises IjwRejected (422, or 403 for a foreign sender) when any of them may not be accepted."""
    checked = [check(d.event, sender_code, key) for d in derived]
    problems: list[Problem] = []
    forbidden = False
    for d, c in zip(derived, checked, strict=True):
        if c.result is None:
            continue
        forbidden = forbidden or c.result["status"] == "forbidden"
        problems += [Problem(d.element, f"{e['field']}: {e['reason']}") for e in c.result.get("errors", [])]
    if forbidden:
        raise IjwRejected([Problem("/Bericht/Header/Afzender", FORBIDDEN_SENDER["reason"])], status=403)
    if problems:
        raise IjwRejected(problems)
    return checked


def prepare(msg: Message, sender_code: str, key: bytes, mapping: ProductMapping) -> tuple[Conversion, list[Checked]]:
    """Check the sender, convert and validate the whole message before anything is accepted."""
    if sender_of(msg) != sender_code:
        raise IjwRejected([Problem("/Bericht/Header/Afzender", FORBIDDEN_SENDER["reason"])], status=403)
    conversion = convert(msg, mapping)
    return conversion, checked_events(conversion.events, sender_code, key)

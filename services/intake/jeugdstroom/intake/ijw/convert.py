"""From a parsed iJw message to jeugdstroom events (submitted form, child by BSN), and through intake's own checks.

Rules (docs/ijw.md has the full table, with the iJw rule ids):

* JW315 verzoek om toewijzing: one ``aanmelding`` per AangevraagdProduct (Verwijzer Type COD327 → verwijzer,
  product → zorgvorm);
* JW301 toewijzing: one ``beschikking`` ``toewijzing`` per ToegewezenProduct (Ingangsdatum/Einddatum);
* JW305 start jeugdhulp: ``plaatsing gestart`` per StartProduct whose product is a placement form;
* JW307 stop jeugdhulp: ``plaatsing beeindigd`` per StopProduct whose product is a placement form, with
  RedenBeeindiging (JZ588) → reden_einde;
* StatusAanlevering (CS058: 1 or 3 in JW305/JW307): 3 withdraws the current version of the record (``correctie
  intrekken``); a 1 after that delete is a new version of the record with an event id of its own (IV008).

JW305/JW307 records and the links JW315 → JW301 → JW305 need what earlier messages said: :class:`State` holds it
(loaded by ``store`` inside the accepting transaction) and :class:`Conversion` says what to store afterwards.
Event ids are deterministic (docs/ijw.md, "Event ids"): the same message sent again yields the same events, which
intake answers as duplicates.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo

import orjson

from jeugdstroom.common.bsn import pseudonymise
from jeugdstroom.common.contracts.codes import GESLACHT_IJW, VERWIJZER_COD327, RedenEinde, Verwijzer
from jeugdstroom.intake.ijw.mapping import JEUGDRECLASSERING, ProductKind, ProductMapping, UnmappedProduct
from jeugdstroom.intake.ijw.message import IjwRejected, Message, Problem, Record, canonical_nummer, parse_time
from jeugdstroom.intake.submission import FORBIDDEN_SENDER, Checked, check

#: iJw dates and times are Dutch local time.
TZ: Final = ZoneInfo("Europe/Amsterdam")
VERWIJZER_BY_CODE: Final[dict[str, Verwijzer]] = {
    code: name for name, code in VERWIJZER_COD327.items() if code is not None  # type: ignore[misc]
}
_SAFE_PART = re.compile(r"[A-Za-z0-9._-]{1,24}")
#: RedenBeeindiging 20: tijdelijk beëindigd (a temporary stop; TR413/TR414/TR415).
TIJDELIJK: Final = "20"
#: CS058: StatusAanlevering in JW305/JW307 is 1 (eerste aanlevering) or 3 (verwijderen aanlevering).
CS058: Final = ("1", "3")


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


# -- what earlier messages said ----------------------------------------------------------------------------------
@dataclass(slots=True)
class StoredRecord:
    """A JW305/JW307 record key (``intake.ijw_records``): the event of its current version — or, once deleted, of
    its last one — whether that version is current, how many versions there were, and a stop's Einddatum."""

    event_id: str
    active: bool
    versions: int = 1
    einddatum: date | None = None


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    """What one record of one message produced (``intake.ijw_deliveries``), so a resent message yields the same
    event again: the record's content hash and the event without the child."""

    record_hash: str
    event_id: str
    type: str
    occurred_at: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Toewijzing:
    """What the JW301s said about a ToewijzingNummer (``intake.ijw_toewijzingen``): its product and, when the JW315
    with the same ReferentieAanbieder was received, the aanmelding that JW315 produced."""

    categorie: str | None = None
    code: str | None = None
    aanmelding_id: str | None = None


@dataclass(slots=True)
class State:
    """The stored state a message is converted against (empty: nothing received before)."""

    records: dict[str, StoredRecord] = field(default_factory=dict)  # record key → record
    deliveries: dict[tuple[str, str], StoredDelivery] = field(default_factory=dict)  # (record key, status) → …
    toewijzingen: dict[str, Toewijzing] = field(default_factory=dict)  # canonical ToewijzingNummer → …


@dataclass(frozen=True, slots=True)
class Aanvraag:
    """A JW315 request to remember (``intake.ijw_aanvragen``): provider AGB + ReferentieAanbieder → aanmelding."""

    agb: str
    referentie: str
    aanmelding_id: str


@dataclass(frozen=True, slots=True)
class Toegewezen:
    """A JW301 toewijzing to remember: (gemeente, provider, ToewijzingNummer) → referentie and product."""

    gemeente: str
    agb: str
    nummer: str
    referentie: str | None
    categorie: str | None
    code: str | None
    decided_at: datetime


@dataclass(slots=True)
class Conversion:
    events: list[Derived]
    skipped: list[Skipped]
    records: dict[str, StoredRecord] = field(default_factory=dict)  # record keys whose state changed
    deliveries: dict[tuple[str, str], StoredDelivery] = field(default_factory=dict)
    aanvragen: list[Aanvraag] = field(default_factory=list)
    toegewezen: list[Toegewezen] = field(default_factory=list)


def sender_of(msg: Message) -> str:
    """The jeugdstroom sender code of a message: GM + the gemeente for JW301, the provider's AGB otherwise."""
    return "GM" + msg.header.afzender if msg.kind == "jw301" else msg.header.afzender


def gemeente_of(msg: Message) -> str:
    """The child's gemeente (woonplaatsbeginsel: the gemeente in the message), as GM####."""
    return "GM" + (msg.header.afzender if msg.kind == "jw301" else msg.header.ontvanger)


def message_key(msg: Message) -> str:
    """The message's identity in ids and stored deliveries: Identificatie and Dagtekening (TR056)."""
    return f"{id_part(msg.header.identificatie)}:{msg.header.dagtekening.isoformat()}"


def _child_part(msg: Message, key: bytes) -> str:
    """A per-child id part for records without ToewijzingNummer: a digest of the child's pseudonym (never of the
    BSN itself, which could be recovered by trying every BSN)."""
    if not key:
        raise ValueError("the pseudonym key is needed for records without ToewijzingNummer")
    return "c" + hashlib.sha256(pseudonymise(msg.client.bsn, key).encode()).hexdigest()[:16]


def placement_key(msg: Message, rec: Record, key: bytes) -> str | None:
    """A JW305/JW307 record's placement: ToewijzingNummer + Begindatum, or — for a start/stop without toewijzing
    (taakgericht, IV096) — child + Product + Begindatum; None when it has neither ToewijzingNummer nor Product."""
    begin = rec.fields["Begindatum"]
    nummer = rec.get("ToewijzingNummer")
    if nummer is not None:
        return f"{canonical_nummer(nummer)}:{begin}"
    categorie = rec.get("Product/Categorie")
    if categorie is None:
        return None
    product = id_part(categorie + (rec.get("Product/Code") or ""))
    return f"{_child_part(msg, key)}:{product}:{begin}"


def record_key(msg: Message, rec: Record, key: bytes) -> str | None:
    """The stored identity of a JW305/JW307 record: its message kind (a stop with RedenBeeindiging 20 apart from
    the definitive stop: TR413) and its placement."""
    placement = placement_key(msg, rec, key)
    if placement is None:
        return None
    kind = msg.kind
    if kind == "jw307" and rec.get("RedenBeeindiging") == TIJDELIJK:
        kind = "jw307-20"  # "-" sorts before ":": at an equal Einddatum the definitive stop is the latest fact
    return f"{kind}:{placement}"


def wanted(msg: Message, key: bytes) -> tuple[list[str], list[str]]:
    """The record keys and ToewijzingNummers whose stored state converting ``msg`` needs."""
    if msg.kind not in ("jw305", "jw307"):
        return [], []
    keys: set[str] = set()
    nummers: set[str] = set()
    for rec in msg.records:
        placement = placement_key(msg, rec, key)
        if placement is not None:
            keys.update(f"{k}:{placement}" for k in ("jw305", "jw307", "jw307-20"))
        if rec.get("ToewijzingNummer") is not None:
            nummers.add(canonical_nummer(rec.fields["ToewijzingNummer"]))
    return sorted(keys), sorted(nummers)


def _record_hash(rec: Record) -> str:
    return hashlib.sha256(orjson.dumps(rec.fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


class _Builder:
    def __init__(self, msg: Message, mapping: ProductMapping, state: State, key: bytes) -> None:
        self.msg = msg
        self.mapping = mapping
        self.state = state
        self.key = key
        self.sender = sender_of(msg)
        self.gemeente = gemeente_of(msg)
        self.message_id = message_key(msg)
        self.problems: list[Problem] = []
        self.out = Conversion([], [])

    def event(self, event_id: str, kind: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
        child = {"bsn": self.msg.client.bsn, "birth_date": self.msg.client.birth_date.isoformat(),
                 "gemeente": self.gemeente}
        if (geslacht := GESLACHT_IJW[self.msg.client.geslacht]) != "onbekend":  # absent means onbekend
            child["geslacht"] = geslacht
        return {"id": event_id, "type": kind, "schema_version": 1, "occurred_at": occurred_at,
                "sender": self.sender, "child": child, "data": data}

    def emit(self, rec: Record, event: dict[str, Any]) -> None:
        self.out.events.append(Derived(rec.element, event))

    def product(self, rec: Record, purpose: str, categorie: str | None, code: str | None) -> ProductKind | None:
        if categorie is None:
            self.problems.append(Problem(f"{rec.element}/Product", f"is required: jeugdstroom derives {purpose} "
                                                                   "from the product"))
            return None
        try:
            return self.mapping.resolve(self.gemeente, categorie, code)
        except UnmappedProduct as exc:
            self.problems.append(Problem(f"{rec.element}/Product", exc.reason))
            return None

    def jw315(self, rec: Record) -> None:
        kind = self.product(rec, "the zorgvorm", rec.get("Product/Categorie"), rec.get("Product/Code"))
        if kind is None:
            return
        ref = id_part(rec.fields["ReferentieAanbieder"])
        aanmelding_id = f"ijw:{self.msg.header.afzender}:{ref}"
        self.emit(rec, self.event(
            f"ijw:jw315:{self.message_id}:{ref}", "aanmelding", _midnight(self.msg.header.dagtekening),
            {"aanmelding_id": aanmelding_id,
             "verwijzer": VERWIJZER_BY_CODE[rec.fields["Verwijzer/Type"]], "zorgvorm": kind.zorgvorm,
             "aanbieder": self.msg.header.afzender},  # the JW315 comes from the aanbieder (Afzender: LDT_AgbCode)
        ))
        self.out.aanvragen.append(Aanvraag(self.msg.header.afzender, ref, aanmelding_id))

    def jw301(self, rec: Record) -> None:
        nummer = canonical_nummer(rec.fields["ToewijzingNummer"])
        tn = id_part(nummer)
        decided = datetime.combine(date.fromisoformat(rec.fields["Toewijzingsdatum"]),
                                   parse_time(rec.fields["Toewijzingstijd"]), TZ)
        data: dict[str, Any] = {"beschikking_id": f"ijw:{tn}", "soort": "toewijzing", "status": "afgegeven",
                                "start": rec.fields["Ingangsdatum"]}
        if rec.get("Einddatum"):
            data["end"] = rec.fields["Einddatum"]
        ref = rec.get("ReferentieAanbieder")
        if ref:
            data["aanmelding_id"] = f"ijw:{self.msg.header.ontvanger}:{id_part(ref)}"
        self.emit(rec, self.event(f"ijw:jw301:{self.message_id}:{tn}", "beschikking", decided.isoformat(), data))
        self.out.toegewezen.append(Toegewezen(
            self.msg.header.afzender, self.msg.header.ontvanger, nummer, id_part(ref) if ref else None,
            rec.get("Product/Categorie"), rec.get("Product/Code"), decided))

    def refuse(self, rec: Record, reason: str, element: str = "") -> None:
        self.problems.append(Problem(rec.element + element, reason))

    def placement(self, rec: Record) -> None:
        """JW305/JW307: a plaatsing event, a new version of a deleted one, or the withdrawal of the current one."""
        status = rec.fields["StatusAanlevering"]
        if status not in CS058:
            self.refuse(rec, f"StatusAanlevering {status} is not allowed in {self.msg.label} (iJw CS058: 1 or 3); "
                             "correct a record by deleting it (3) and sending it again (1) (IV008)",
                        "/StatusAanlevering")
            return
        nummer = rec.get("ToewijzingNummer")
        toewijzing = self.state.toewijzingen.get(canonical_nummer(nummer)) if nummer is not None else None
        categorie, code = rec.get("Product/Categorie"), rec.get("Product/Code")
        if categorie is None and toewijzing is not None and toewijzing.categorie is not None:
            categorie, code = toewijzing.categorie, toewijzing.code  # the product of its toewijzing (JW301)
        rkey = record_key(self.msg, rec, self.key)
        if rkey is None or categorie is None:
            self.out.skipped.append(Skipped(rec.element, "no Product, and no toewijzing (JW301) with a product for "
                                                         "its ToewijzingNummer: not known to be a placement"))
            return
        kind = self.product(rec, "whether this is a placement", categorie, code)
        if kind is None:
            return
        if kind.vorm is None and kind.kind != JEUGDRECLASSERING:
            self.out.skipped.append(Skipped(rec.element, f"product is not a placement form (zorgvorm {kind.zorgvorm})"))
            return
        base = f"ijw:{rkey}"
        stored = self.state.deliveries.get((rkey, status))
        record_hash = _record_hash(rec)
        if stored is not None and (stored.record_hash == record_hash or status == "3"):
            # This message was received before: the same event again (a delete stays the delete it was).
            self.emit(rec, self.event(stored.event_id, stored.type, stored.occurred_at, stored.data))
            return
        current = self.state.records.get(rkey)
        if status == "3":
            self.delete(rec, rkey, base, current, record_hash)
        else:
            self.deliver(rec, rkey, base, kind, current, record_hash, toewijzing, stored)

    def _remember(self, rkey: str, status: str, record: StoredRecord, delivery: StoredDelivery) -> None:
        self.state.records[rkey] = record
        self.out.records[rkey] = record
        self.out.deliveries[(rkey, status)] = delivery

    def delete(self, rec: Record, rkey: str, base: str, current: StoredRecord | None, record_hash: str) -> None:
        """StatusAanlevering 3: withdraw the current version (OP033, IV008)."""
        if current is not None and not current.active:
            self.refuse(rec, "deletes a record that is not current: it was deleted before (iJw TR063)")
            return
        if rkey.startswith("jw305:"):
            placement = rkey.split(":", 1)[1]
            stops = [self.state.records.get(f"{k}:{placement}") for k in ("jw307", "jw307-20")]
            if any(s is not None and s.active for s in stops):
                self.refuse(rec, "deletes a start whose stop was sent: delete the stop first (iJw TR071)")
                return
        # A key never received here (sent before jeugdstroom listened) is its first version.
        target = current.event_id if current is not None else base
        record = StoredRecord(target, False, current.versions if current else 1, current.einddatum if current else None)
        data = {"target_id": target, "action": "intrekken"}
        event = self.event(f"{target}:{self.message_id}", "correctie", _midnight(self.msg.header.dagtekening), data)
        self.emit(rec, event)
        self._remember(rkey, "3", record, StoredDelivery(record_hash, event["id"], "correctie",
                                                         event["occurred_at"], data))

    def deliver(self, rec: Record, rkey: str, base: str, kind: ProductKind, current: StoredRecord | None,
                record_hash: str, toewijzing: Toewijzing | None, stored: StoredDelivery | None) -> None:
        """StatusAanlevering 1: the record's first version, a new version after a delete, or (for a key that is
        current) the same event again — a duplicate when unchanged, a conflict (409) when changed (TR074). A
        message received before with other content in this record (its Identificatie reused: TR056) gives the
        event it gave then with the new content: a conflict."""
        placement_id = rkey.split(":", 1)[1]
        begin = rec.fields["Begindatum"]
        etype = "jeugdreclassering" if kind.kind == JEUGDRECLASSERING else "plaatsing"
        data: dict[str, Any] = (
            {"jeugdreclassering_id": f"ijw:{placement_id}", "status": "gestart", "start": begin}
            if etype == "jeugdreclassering"  # category 47: the GI's jeugdreclassering trajectory (docs/ijw.md)
            else {"plaatsing_id": f"ijw:{placement_id}", "status": "gestart", "vorm": kind.vorm,
                  "provider": self.msg.header.afzender, "start": begin}
        )
        occurred = _midnight(date.fromisoformat(begin))
        einddatum: date | None = None
        if self.msg.kind == "jw307":
            einddatum = date.fromisoformat(rec.fields["Einddatum"])
            data.update(status="beeindigd", end=rec.fields["Einddatum"])
            if etype == "plaatsing":
                data["reden_einde"] = reden_einde(rec.fields["RedenBeeindiging"])
            occurred = _midnight(einddatum)
            if not self.stop_rules(rec, rkey, placement_id, einddatum, current):
                return
        if etype == "plaatsing" and toewijzing is not None and toewijzing.aanmelding_id is not None:
            data["aanmelding_id"] = toewijzing.aanmelding_id  # JW315 → JW301 → this record
        same = stored.event_id if stored is not None else current.event_id if current and current.active else None
        if same is not None:
            self.emit(rec, self.event(same, etype, occurred, data))
            return
        versions = current.versions + 1 if current is not None else 1
        event_id = base if versions == 1 else f"{base}:v{versions}:{self.message_id}"
        self.emit(rec, self.event(event_id, etype, occurred, data))
        self._remember(rkey, "1", StoredRecord(event_id, True, versions, einddatum),
                       StoredDelivery(record_hash, event_id, etype, occurred, data))

    def stop_rules(self, rec: Record, rkey: str, placement: str, einddatum: date,
                   current: StoredRecord | None) -> bool:
        """TR413, TR414, TR415 for a new stop (StatusAanlevering 1) of the placement."""
        temporary = self.state.records.get(f"jw307-20:{placement}")
        definitive = self.state.records.get(f"jw307:{placement}")
        if rkey.startswith("jw307-20:"):
            if temporary is not None and temporary.active:
                self.refuse(rec, "is a second temporary stop (RedenBeeindiging 20) of the same start (iJw TR413): "
                                 "send the definitive stop, or delete the first one (3) before sending it again")
                return False
            if definitive is not None and definitive.active:
                self.refuse(rec, "is a temporary stop after the definitive stop of the same start (iJw TR415)")
                return False
        other = temporary if rkey.startswith("jw307:") else None
        if other is not None and other.active and other.einddatum is not None and einddatum < other.einddatum:
            self.refuse(rec, "Einddatum is before the Einddatum of the current temporary stop of the same start "
                             "(iJw TR414)", "/Einddatum")
            return False
        return True


def convert(msg: Message, mapping: ProductMapping, state: State | None = None, key: bytes = b"") -> Conversion:
    """Every event the message stands for, given what earlier messages said (``state``, updated in place);
    raises IjwRejected when any record cannot be converted. ``key`` is the pseudonym key (for records without
    ToewijzingNummer)."""
    b = _Builder(msg, mapping, state if state is not None else State(), key)
    handle = {"jw315": b.jw315, "jw301": b.jw301, "jw305": b.placement, "jw307": b.placement}[msg.kind]
    for rec in msg.records:
        handle(rec)
    seen: dict[str, str] = {}
    for derived in b.out.events:
        first = seen.setdefault(derived.event["id"], derived.element)
        if first != derived.element:
            b.problems.append(Problem(derived.element, f"repeats the record at {first} (same identity)"))
    if b.problems:
        raise IjwRejected(b.problems, kind=msg.kind)
    return b.out


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


def check_sender(msg: Message, sender_code: str) -> None:
    if sender_of(msg) != sender_code:
        raise IjwRejected([Problem("/Bericht/Header/Afzender", FORBIDDEN_SENDER["reason"])], status=403,
                          kind=msg.kind)


def prepare(msg: Message, sender_code: str, key: bytes, mapping: ProductMapping,
            state: State | None = None) -> tuple[Conversion, list[Checked]]:
    """Check the sender, convert and validate the whole message before anything is accepted."""
    check_sender(msg, sender_code)
    conversion = convert(msg, mapping, state, key)
    try:
        return conversion, checked_events(conversion.events, sender_code, key)
    except IjwRejected as exc:
        exc.kind = msg.kind
        raise

"""The simulator's iJw output: a child's story as the iJw 3.2 messages gemeenten and providers would exchange, and
the **iJw projection** of the story — the native events that say exactly what those messages say.

iJw carries less than jeugdstroom's own events, and carries it differently. ``project`` makes that explicit: for a
child's clean story (``Generated.clean``) it gives a list of :class:`Projected` facts, each the native event that
``POST /v1/events`` takes *and* the iJw message that ``POST /v1/ijw`` takes for it. The native stream "of the same
stories" is the projected events; the iJw stream is the projected messages; the adapter is right when both give
the same indicators (``tests/integration/test_ijw_indicators.py``; docs/ijw.md, "Simulated iJw traffic").

What the projection keeps, and how iJw carries it:

* an ``aanmelding`` → a JW315 (verzoek om toewijzing) with one AangevraagdProduct: ReferentieAanbieder is the
  aanmelding id, the Verwijzer its COD327 code, the product the zorgvorm's. iJw's request comes from the provider,
  so the projected aanmelding's **sender** is the provider that later places the child (its first placement of that
  aanmelding), else ``fallback_provider``; its **event time** is local midnight of its day (the Dagtekening; iJw has
  no time of day); its **aanbieder** is that sender (the JW315's Afzender); ``urgent`` is dropped (no iJw field).
  An aanmelding whose verwijzer has no COD327 code (``anders``) has no JW315 and is dropped.
* a ``beschikking`` of soort ``toewijzing`` → a JW301 (toewijzing, gemeente → provider) per event: ToewijzingNummer
  derived from the beschikking id, Ingangsdatum/Einddatum, ReferentieAanbieder when the toewijzing names its
  aanmelding. The end of a toewijzing is a later JW301 with the same ToewijzingNummer and an Einddatum, so the
  projected **status** is always ``afgegeven`` (iJw has no "beeindigd" toewijzing); the event time is the
  Toewijzingsdatum/-tijd (to the second). The aanmelding id stays, even when the aanmelding itself was dropped.
* a ``plaatsing`` → a JW305 (start) for ``gestart`` and a JW307 (stop) for ``beeindigd``, from the provider: the
  event time is local midnight of Begindatum/Einddatum; ``reden_einde`` is what JZ588 RedenBeeindiging can say
  (``meerderjarig`` has no code of its own: ``anders``). The first placement of an aanmelding carries the
  ToewijzingNummer of the aanmelding's first toewijzing; the placement names its **aanmelding only when iJw can
  link it**: the JW301 with that ToewijzingNummer went to this provider and the JW315 came from it
  (JW315 → JW301 by ReferentieAanbieder, JW301 → JW305 by ToewijzingNummer). A placement without toewijzing
  (a transfer, care under a child-protection measure, closed care under a machtiging, a placement from before
  the window) has no link.
* left out: separaties and every other beschikking (ots, voorlopige_ots, voogdij, machtigingen): no iJw message.

Sending order: within a child the messages follow the iJw process, whatever the hour in the story — a JW301 after
the JW315 it answers, a JW305 after its JW301, a JW307 after its JW305 (each at least a second later), because the
adapter links a message only to what it received before (docs/ijw.md).

``correct=True`` adds the standard's correction to the child's first stop: a wrong stop (an Einddatum a day early
and another reden), then its delete (StatusAanlevering 3 → ``correctie intrekken`` of the wrong stop) and the
right stop (StatusAanlevering 1 → a new event), an hour apart each.

Ids of the native events are the story's own (a correction's are the story id with ``-w``/``-d``); the iJw message
Identificatie (12 characters) is a digest of the native event id. The BSN travels as in every iJw message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from jeugdstroom.common.contracts.codes import VERWIJZER_COD327
from jeugdstroom.simulator.regions import REGIONS
from jeugdstroom.simulator.stream import Params, children
from jeugdstroom.simulator.truth import Truth

AMS: Final = ZoneInfo("Europe/Amsterdam")
NS: Final = "http://www.istandaarden.nl/ijw/3_2/{kind}/schema"
BASIS: Final = "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"
BERICHT_CODES: Final = {"jw315": "446", "jw301": "436", "jw305": "438", "jw307": "440"}
#: Care form → iJw product (JZ020 category, optional product code) that the shipped product mapping maps back to it.
PRODUCTS: Final[dict[str, tuple[str, str | None]]] = {
    "pleegzorg": ("35", None),
    "pleegzorg_bestand": ("35", None),
    "pleegzorg_netwerk": ("44", "44P02"),  # a region product code (products.toml, region rijk-van-nijmegen)
    "gezinshuis": ("36", None),
    "gesloten": ("37", None),
    "residentieel": ("38", None),
    "ambulant": ("45", None),
    "jeugdbescherming": ("48", None),
}
#: reden_einde → RedenBeeindiging (JZ588).
REDEN: Final = {"volgens_plan": "31", "voortijdig": "33", "overplaatsing": "38", "anders": "36", "meerderjarig": "36"}
#: RedenBeeindiging → the reden_einde jeugdstroom reads back (docs/ijw.md, mapping rules).
REDEN_READ: Final = {"31": "volgens_plan", "33": "voortijdig", "38": "overplaatsing", "36": "anders"}
#: The iJw process order of the facts of one day.
_RANK: Final = {"jw315": 0, "jw301": 1, "jw305": 2, "jw307": 3}
_STEP: Final = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Message:
    """One iJw message: who sends it (the jeugdstroom sender code), when (UTC), and the XML."""

    sender: str
    at: datetime
    kind: str
    xml: bytes


@dataclass(frozen=True, slots=True)
class Projected:
    """One fact of a story's iJw projection: the native event that states it and the iJw message that carries it."""

    event: dict[str, Any]
    message: Message


def _digest(value: str, length: int) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:length].upper()


def toewijzing_nummer(beschikking_id: str) -> str:
    """A ToewijzingNummer (LDT_Nummer, at most 999999999) for a beschikking id."""
    return str(int(hashlib.sha256(beschikking_id.encode()).hexdigest(), 16) % 900_000_000 + 100_000_000)


def _leaf(name: str, value: str, prefix: str = "") -> str:
    return f"<{prefix}{name}>{escape(value)}</{prefix}{name}>"


def _product(vorm: str) -> str:
    categorie, code = PRODUCTS[vorm]
    return ("<Product>" + _leaf("Categorie", categorie, "ijw:") + (_leaf("Code", code, "ijw:") if code else "")
            + "</Product>")


def _midnight(day: date) -> str:
    return datetime.combine(day, time(0), AMS).isoformat()


class _Child:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.json: dict[str, Any] = events[0]["child"]
        self.bsn: str = self.json["bsn"]
        self.birth: str = self.json["birth_date"]
        self.gemeente: str = self.json["gemeente"][2:]
        #: iJw LDT_Geslacht: 0 onbekend (also when the child has none), 1 mannelijk, 2 vrouwelijk
        self.geslacht = {"man": "1", "vrouw": "2"}.get(self.json.get("geslacht", "onbekend"), "0")

    def message(self, kind: str, afzender: str, ontvanger: str, ident: str, day: date, body: str,
                full_name: bool = False) -> bytes:
        naam = ("<Naam><ijw:Geslachtsnaam><ijw:Achternaam>Simulatie</ijw:Achternaam></ijw:Geslachtsnaam>"
                + ("<ijw:NaamGebruik>1</ijw:NaamGebruik>" if full_name else "") + "</Naam>")
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Bericht xmlns="{NS.format(kind=kind)}" xmlns:ijw="{BASIS}">'
            f"<Header>{_leaf('BerichtCode', BERICHT_CODES[kind])}<BerichtVersie>3</BerichtVersie>"
            f"<BerichtSubversie>2</BerichtSubversie>{_leaf('Afzender', afzender)}{_leaf('Ontvanger', ontvanger)}"
            f"<BerichtIdentificatie>{_leaf('Identificatie', ident, 'ijw:')}"
            f"{_leaf('Dagtekening', day.isoformat(), 'ijw:')}</BerichtIdentificatie>"
            "<XsdVersie><ijw:BasisschemaXsdVersie>1.0.0</ijw:BasisschemaXsdVersie>"
            "<ijw:BerichtXsdVersie>1.0.0</ijw:BerichtXsdVersie></XsdVersie></Header>"
            f"<Client>{_leaf('Bsn', self.bsn)}<Geboortedatum>{_leaf('Datum', self.birth, 'ijw:')}</Geboortedatum>"
            f"<Geslacht>{self.geslacht}</Geslacht>{naam}{body}</Client></Bericht>"
        ).encode()

    def event(self, event_id: str, etype: str, sender: str, occurred_at: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": event_id, "type": etype, "schema_version": 1, "occurred_at": occurred_at, "sender": sender,
                "child": dict(self.json), "data": data}


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(AMS)


def _kind(e: dict[str, Any]) -> str | None:
    """The iJw message that carries a native event, or None when iJw has none for it."""
    if e["type"] == "aanmelding":
        return "jw315" if VERWIJZER_COD327.get(e["data"]["verwijzer"]) is not None else None
    if e["type"] == "beschikking":
        return "jw301" if e["data"]["soort"] == "toewijzing" else None
    if e["type"] == "plaatsing":
        return "jw307" if e["data"]["status"] == "beeindigd" else "jw305"
    return None


class _Projection:
    """The projection of one child's story, built fact by fact in iJw process order."""

    def __init__(self, events: list[dict[str, Any]], fallback_provider: str) -> None:
        self.child = _Child(events)
        self.fallback = fallback_provider
        self.out: list[Projected] = []
        self.provider_of: dict[str, str] = {}  # aanmelding → the provider of its first placement
        self.requested: dict[str, tuple[str, datetime]] = {}  # aanmelding → (JW315 sender, sent at)
        self.toewijzing_of: dict[str, str] = {}  # aanmelding → ToewijzingNummer of its first toewijzing
        self.toegewezen: dict[str, tuple[str, str | None, datetime]] = {}  # nummer → (provider, aanmelding, sent)
        self.started: dict[str, datetime] = {}  # plaatsing → its JW305 sent at

    def add(self, event: dict[str, Any], kind: str, sender: str, at: datetime, ident_of: str, day: date,
            afzender: str, ontvanger: str, body: str) -> Message:
        ident = _digest(f"{event['sender']}/{ident_of}", 12)
        msg = Message(sender, at.astimezone(UTC), kind,
                      self.child.message(kind, afzender, ontvanger, ident, day, body, full_name=kind == "jw301"))
        self.out.append(Projected(event, msg))
        return msg

    def aanmelding(self, e: dict[str, Any], at: datetime) -> None:
        data = e["data"]
        aid = data["aanmelding_id"]
        agb = self.provider_of.get(aid, self.fallback)
        day = at.date()
        event = self.child.event(e["id"], "aanmelding", agb, _midnight(day),
                                 {"aanmelding_id": aid, "verwijzer": data["verwijzer"], "zorgvorm": data["zorgvorm"],
                                  "aanbieder": agb})
        body = ("<AangevraagdeProducten><AangevraagdProduct>"
                + _leaf("ReferentieAanbieder", aid) + _product(data["zorgvorm"])
                + _leaf("ToewijzingIngangsdatum", day.isoformat())
                + "<Verwijzer>" + _leaf("Type", str(VERWIJZER_COD327[data["verwijzer"]]), "ijw:") + "</Verwijzer>"
                + "</AangevraagdProduct></AangevraagdeProducten>")
        msg = self.add(event, "jw315", agb, at, e["id"], day, agb, self.child.gemeente, body)
        self.requested[aid] = (agb, msg.at)

    def toewijzing(self, e: dict[str, Any], at: datetime) -> None:
        data = e["data"]
        aid = data.get("aanmelding_id")
        agb = self.provider_of.get(aid, self.fallback) if aid else self.fallback
        nummer = toewijzing_nummer(data["beschikking_id"])
        if aid:
            self.toewijzing_of.setdefault(aid, nummer)
        send = at
        if aid in self.requested:
            send = max(send, self.requested[aid][1] + _STEP)
        decided = at.replace(microsecond=0)
        projected: dict[str, Any] = {"beschikking_id": data["beschikking_id"], "soort": "toewijzing",
                                     "status": "afgegeven", "start": data["start"]}
        if data.get("end"):
            projected["end"] = data["end"]
        if aid:
            projected["aanmelding_id"] = aid
        gm = "GM" + self.child.gemeente
        event = self.child.event(e["id"], "beschikking", gm, decided.isoformat(), projected)
        body = ("<Contactgegevens><Contact><Soort>01</Soort></Contact></Contactgegevens>"
                "<ToegewezenProducten><ToegewezenProduct>" + _leaf("ToewijzingNummer", nummer)
                + (_leaf("ReferentieAanbieder", aid) if aid else "")
                + _leaf("Toewijzingsdatum", decided.date().isoformat())
                + _leaf("Toewijzingstijd", decided.time().isoformat())
                + _leaf("Ingangsdatum", data["start"]) + (_leaf("Einddatum", data["end"]) if data.get("end") else "")
                + "</ToegewezenProduct></ToegewezenProducten>")
        msg = self.add(event, "jw301", gm, send, e["id"], decided.date(), self.child.gemeente, agb, body)
        self.toegewezen.setdefault(nummer, (agb, aid, msg.at))

    def plaatsing(self, e: dict[str, Any], at: datetime, correct: bool) -> bool:
        """A JW305/JW307; with ``correct`` a stop is sent wrong first, deleted and sent right (returns whether)."""
        data = e["data"]
        provider, pid = data["provider"], data["plaatsing_id"]
        stop = data["status"] == "beeindigd"
        aid = data.get("aanmelding_id")
        nummer = self.toewijzing_of.get(aid) if aid else None
        send = at
        projected: dict[str, Any] = {"plaatsing_id": pid, "status": data["status"], "vorm": data["vorm"],
                                     "provider": provider, "start": data["start"]}
        if nummer is not None:
            receiver, named, sent = self.toegewezen[nummer]
            send = max(send, sent + _STEP)
            request = self.requested.get(named) if named else None
            if receiver == provider and request is not None and request[0] == provider:
                projected["aanmelding_id"] = named
        if stop and pid in self.started:
            send = max(send, self.started[pid] + _STEP)
        kind = "jw307" if stop else "jw305"

        def record(values: dict[str, Any], status: str) -> str:
            out = (_leaf("ToewijzingNummer", nummer) if nummer else "") + _product(data["vorm"])
            out += _leaf("Begindatum", data["start"])
            if stop:
                out += _leaf("RedenBeeindiging", REDEN[values["reden_einde"]]) + _leaf("Einddatum", values["end"])
            out += f"<StatusAanlevering>{status}</StatusAanlevering>"
            group, item = ("StopProducten", "StopProduct") if stop else ("StartProducten", "StartProduct")
            return f"<{group}><{item}>{out}</{item}></{group}>"

        def deliver(event_id: str, values: dict[str, Any], when: datetime) -> Message:
            body = dict(projected)
            if stop:
                body.update(end=values["end"], reden_einde=REDEN_READ[REDEN[values["reden_einde"]]])
            day = date.fromisoformat(values["end"] if stop else values["start"])
            event = self.child.event(event_id, "plaatsing", provider, _midnight(day), body)
            return self.add(event, kind, provider, when, event_id, day, provider, self.child.gemeente,
                            record(values, "1"))

        start, end = date.fromisoformat(data["start"]), date.fromisoformat(data["end"]) if stop else None
        if not (correct and stop and end is not None and end > start):
            msg = deliver(e["id"], data, send)
            if not stop:
                self.started[pid] = msg.at
            return False
        assert end is not None
        wrong = {**data, "end": (end - timedelta(days=1)).isoformat(),
                 "reden_einde": "voortijdig" if REDEN_READ[REDEN[data["reden_einde"]]] != "voortijdig"
                 else "volgens_plan"}
        first = deliver(f"{e['id']}-w", wrong, send)
        deleted = first.at + timedelta(hours=1)
        today = deleted.astimezone(AMS).date()
        correctie = self.child.event(f"{e['id']}-d", "correctie", provider, _midnight(today),
                                     {"target_id": f"{e['id']}-w", "action": "intrekken"})
        self.add(correctie, "jw307", provider, deleted, correctie["id"], today, provider, self.child.gemeente,
                 record(wrong, "3"))
        deliver(e["id"], data, deleted + timedelta(hours=1))
        return True


def project(events: Iterable[dict[str, Any]], fallback_provider: str, correct: bool = False) -> list[Projected]:
    """One child's clean native events as their iJw projection, in sending order (see the module docstring).
    ``fallback_provider`` receives the toewijzingen (and sends the verzoeken) of care without a placement;
    ``correct`` adds a delete-then-resend correction to the first stop."""
    facts = [(e, kind, _local(e["occurred_at"])) for e in events if (kind := _kind(e)) is not None]
    if not facts:
        return []
    facts.sort(key=lambda f: (f[2].date(), _RANK[f[1]], f[2]))
    p = _Projection([f[0] for f in facts], fallback_provider)
    for e, _, _ in facts:
        aid = e["data"].get("aanmelding_id")
        if e["type"] == "plaatsing" and aid:
            p.provider_of.setdefault(aid, e["data"]["provider"])
    for e, kind, at in facts:
        if kind == "jw315":
            p.aanmelding(e, at)
        elif kind == "jw301":
            p.toewijzing(e, at)
        elif p.plaatsing(e, at, correct):
            correct = False
    return sorted(p.out, key=lambda x: x.message.at)


def messages(events: Iterable[dict[str, Any]], fallback_provider: str) -> list[Message]:
    """One child's clean native events as iJw messages, in sending order (the messages of ``project``)."""
    return [x.message for x in project(events, fallback_provider)]


def run(params: Params, truth: Truth | None = None, correct_every: int = 10) -> list[Projected]:
    """Every child of a run as its iJw projection, all in sending order (held in memory: meant for a region, not
    for a national run). Every ``correct_every``-th child with a stop gets the delete-then-resend correction
    (0: none). ``truth``, when given, gets each child's projected native events: the ground truth of the iJw
    stream."""
    region = REGIONS[params.region]
    out: list[Projected] = []
    stops = 0
    for generated in children(params):
        events = [ev.event for ev in generated.clean]
        has_stop = any(e["type"] == "plaatsing" and e["data"]["status"] == "beeindigd" for e in events)
        correct = has_stop and correct_every > 0 and stops % correct_every == 0
        stops += has_stop
        projected = project(events, region.pool("residentieel", generated.child.gemeente)[0].code, correct)
        if truth is not None and projected:
            truth.add_child((p.event, False) for p in projected)
        out += projected
    out.sort(key=lambda p: p.message.at)
    return out


def file_name(n: int, message: Message) -> str:
    """The file of the ``n``-th message of a run (sorting the names gives the sending order)."""
    return f"{n:07d}-{message.kind}-{message.sender}.xml"

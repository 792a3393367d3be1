"""The simulator's iJw output: one child's story as the iJw 3.2 messages gemeenten and providers would exchange.

The same clean story that gives the native events (``Generated.clean``) is written as JW315 (verzoek om toewijzing,
provider → gemeente), JW301 (toewijzing, gemeente → provider), JW305 (start) and JW307 (stop), in the namespaces of
the iJw 3.2 XSDs (``tests/integration/test_ijw_simulated.py`` validates every message against them and sends them
through ``POST /v1/ijw``). What iJw cannot say is left out, and the indicators of an iJw-only stream therefore
differ from the native ones where it matters (docs/ijw.md, "Simulated iJw traffic"):

* separaties and child-protection measures (ots, voogdij, …) have no iJw message;
* an aanmelding whose verwijzer has no COD327 code (``anders``) gets no JW315;
* a JW315 is sent by the provider that later places or treats the child (iJw's verzoek om toewijzing comes from the
  provider), where the native aanmelding comes from the gemeente or the GI;
* event times are days (iJw dates are local midnight), except the JW301's Toewijzingsdatum/-tijd.

Ids: ReferentieAanbieder is the aanmelding id, ToewijzingNummer a number derived from the beschikking id, the
message Identificatie (12 characters) a digest of the native event id. The BSN travels as in every iJw message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from jeugdstroom.common.contracts.codes import VERWIJZER_COD327

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
#: reden_einde → RedenBeeindiging (JZ588) that jeugdstroom maps back to it.
REDEN: Final = {"volgens_plan": "31", "voortijdig": "33", "overplaatsing": "38", "anders": "36"}


@dataclass(frozen=True, slots=True)
class Message:
    """One iJw message: who sends it (the jeugdstroom sender code), when, and the XML."""

    sender: str
    at: datetime
    kind: str
    xml: bytes


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


class _Child:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        child = events[0]["child"]
        self.bsn: str = child["bsn"]
        self.birth: str = child["birth_date"]
        self.gemeente: str = child["gemeente"][2:]

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
            f"<Geslacht>0</Geslacht>{naam}{body}</Client></Bericht>"
        ).encode()


def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(AMS)


def messages(events: Iterable[dict[str, Any]], fallback_provider: str) -> list[Message]:
    """One child's clean native events as iJw messages, in sending order. ``fallback_provider`` receives the
    toewijzingen (and sends the verzoeken) of care without a placement."""
    evs = sorted(events, key=lambda e: _local(e["occurred_at"]))
    if not evs:
        return []
    child = _Child(evs)
    provider_of: dict[str, str] = {}  # aanmelding → the provider of its first placement
    for e in evs:
        aid = e["data"].get("aanmelding_id")
        if e["type"] == "plaatsing" and aid:
            provider_of.setdefault(aid, e["data"]["provider"])
    toewijzing_of: dict[str, str] = {}  # aanmelding → ToewijzingNummer of its (first) toewijzing
    out: list[Message] = []
    for e in evs:
        data, at = e["data"], _local(e["occurred_at"])
        ident = _digest(f"{e['sender']}/{e['id']}", 12)
        if e["type"] == "aanmelding":
            code = VERWIJZER_COD327.get(data["verwijzer"])
            if code is None:
                continue
            agb = provider_of.get(data["aanmelding_id"], fallback_provider)
            body = ("<AangevraagdeProducten><AangevraagdProduct>"
                    + _leaf("ReferentieAanbieder", data["aanmelding_id"]) + _product(data["zorgvorm"])
                    + _leaf("ToewijzingIngangsdatum", at.date().isoformat())
                    + "<Verwijzer>" + _leaf("Type", code, "ijw:") + "</Verwijzer>"
                    + "</AangevraagdProduct></AangevraagdeProducten>")
            out.append(Message(agb, at, "jw315", child.message("jw315", agb, child.gemeente, ident, at.date(), body)))
        elif e["type"] == "beschikking" and data["soort"] == "toewijzing":
            aid = data.get("aanmelding_id")
            agb = provider_of.get(aid, fallback_provider) if aid else fallback_provider
            nummer = toewijzing_nummer(data["beschikking_id"])
            if aid:
                toewijzing_of.setdefault(aid, nummer)
            body = ("<Contactgegevens><Contact><Soort>01</Soort></Contact></Contactgegevens>"
                    "<ToegewezenProducten><ToegewezenProduct>" + _leaf("ToewijzingNummer", nummer)
                    + (_leaf("ReferentieAanbieder", aid) if aid else "")
                    + _leaf("Toewijzingsdatum", at.date().isoformat())
                    + _leaf("Toewijzingstijd", at.time().replace(microsecond=0).isoformat())
                    + _leaf("Ingangsdatum", data["start"]) + (_leaf("Einddatum", data["end"]) if data.get("end") else "")
                    + "</ToegewezenProduct></ToegewezenProducten>")
            gm = "GM" + child.gemeente
            out.append(Message(gm, at, "jw301", child.message("jw301", child.gemeente, agb, ident, at.date(), body,
                                                              full_name=True)))
        elif e["type"] == "plaatsing":
            stop = data["status"] == "beeindigd"
            kind = "jw307" if stop else "jw305"
            tn = toewijzing_of.get(data.get("aanmelding_id") or "")
            record = (_leaf("ToewijzingNummer", tn) if tn else "") + _product(data["vorm"])
            record += _leaf("Begindatum", data["start"])
            if stop:
                record += _leaf("RedenBeeindiging", REDEN[data["reden_einde"]]) + _leaf("Einddatum", data["end"])
            record += "<StatusAanlevering>1</StatusAanlevering>"
            group, item = ("StopProducten", "StopProduct") if stop else ("StartProducten", "StartProduct")
            body = f"<{group}><{item}>{record}</{item}></{group}>"
            day = date.fromisoformat(data["end"] if stop else data["start"])
            out.append(Message(data["provider"], at, kind,
                               child.message(kind, data["provider"], child.gemeente, ident, day, body)))
    return out

"""Reading an iJw 3.2 message: hardened XML parsing and a structural check against the message definitions.

Only the four messages jeugdstroom derives events from are known (JW315, JW301, JW305, JW307). Their structure
follows the published iJw 3.2 XSDs: the element order, required elements, repetition and the formats of the
elements we read are checked here; elements we do not read (names, addresses, Omvang, Budget, …) must be present
where the XSD requires them but their content is not inspected.

Every problem names the element path and the rule, never the element's value (a value may be a BSN).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from jeugdstroom.common.bsn import is_valid_bsn
from jeugdstroom.common.contracts.codes import VERWIJZER_COD327

#: The iJw 3.2 message namespaces are ``http://www.istandaarden.nl/ijw/3_2/jw301/schema`` and so on.
NAMESPACE = re.compile(r"http://www\.istandaarden\.nl/ijw/([0-9]{1,2}_[0-9]{1,2})/(jw[0-9]{3})/schema")
RELEASE: Final = "3_2"
#: Message → BerichtCode (COD002-VEKT).
BERICHT_CODES: Final = {"jw315": "446", "jw301": "436", "jw305": "438", "jw307": "440"}
STATUS_AANLEVERING: Final = ("1", "2", "3")
COD327: Final = tuple(sorted(code for code in VERWIJZER_COD327.values() if code is not None))


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a message cannot be used: the element path and the broken rule (never the value)."""

    element: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"element": self.element, "reason": self.reason}


class IjwRejected(Exception):
    """The message as a whole is refused; ``status`` is the HTTP status (422, or 403 for a foreign sender)."""

    def __init__(self, problems: Sequence[Problem], status: int = 422) -> None:
        self.problems = list(problems)
        self.status = status
        super().__init__("; ".join(f"{p.element}: {p.reason}" for p in self.problems))


# -- leaf formats --------------------------------------------------------------------------------------------
Check = Callable[[str], str | None]


def _pattern(regex: str, reason: str) -> Check:
    compiled = re.compile(regex)
    return lambda v: None if compiled.fullmatch(v) else reason


def _date(value: str) -> str | None:
    reason = "must be a date (YYYY-MM-DD)"
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return reason
    try:
        date.fromisoformat(value)
    except ValueError:
        return reason
    return None


def _time(value: str) -> str | None:
    reason = "must be a time (hh:mm:ss)"
    if not re.fullmatch(r"[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?", value):
        return reason
    try:
        time.fromisoformat(value)
    except ValueError:
        return reason
    return None


def _bsn(value: str) -> str | None:
    return None if is_valid_bsn(value) else "must be 9 digits that pass the elfproef"


def _fixed(expected: str) -> Check:
    return lambda v: None if v == expected else f"must be {expected}"


def _one_of(codes: Sequence[str], name: str) -> Check:
    return lambda v: None if v in codes else f"must be a {name} code ({', '.join(codes)})"


DATE: Final = _date
TIME: Final = _time
BSN: Final = _bsn
GEMEENTE: Final = _pattern(r"[0-9]{4}", "must be a gemeente code of 4 digits")
AGB: Final = _pattern(r"[0-9]{8}", "must be an AGB code of 8 digits")
CATEGORIE: Final = _pattern(r"[0-9]{2}", "must be a product category of 2 digits (JZ020)")
PRODUCTCODE: Final = _pattern(r"[0-9A-Za-z]{1,5}", "must be a product code of at most 5 letters or digits")
NUMMER: Final = _pattern(r"[\x21-\x7e]{1,20}", "must be 1 to 20 printable characters without spaces")
REFERENTIE: Final = _pattern(r"\S(.{0,13}\S)?", "must be 1 to 15 characters, not starting or ending with a space")
IDENTIFICATIE: Final = _pattern(r"[\x21-\x7e]{1,20}", "must be 1 to 20 printable characters without spaces")
CODE2: Final = _pattern(r"[0-9]{2}", "must be a code of 2 digits")
STATUS: Final = _one_of(STATUS_AANLEVERING, "StatusAanlevering (COD467)")
VERWIJZER: Final = _one_of(COD327, "COD327")


# -- structure -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class E:
    """One element of a message definition: a leaf with a format check, a sequence of children, or (``None``)
    content that jeugdstroom does not read."""

    name: str
    content: Check | tuple[E, ...] | None
    min: int = 1
    max: int | None = 1


def opt(e: E) -> E:
    return E(e.name, e.content, 0, e.max)


def many(e: E) -> E:
    return E(e.name, e.content, e.min, None)


def _any(name: str) -> E:
    return E(name, None)


def _header(code: str, afzender: Check, ontvanger: Check) -> E:
    return E("Header", (
        E("BerichtCode", _fixed(code)),
        E("BerichtVersie", _fixed("3")),
        E("BerichtSubversie", _fixed("2")),
        E("Afzender", afzender),
        E("Ontvanger", ontvanger),
        E("BerichtIdentificatie", (E("Identificatie", IDENTIFICATIE), E("Dagtekening", DATE))),
        _any("XsdVersie"),
    ))


_PERSON = (
    E("Bsn", BSN),
    E("Geboortedatum", (E("Datum", DATE), opt(_any("DatumGebruik")))),
    _any("Geslacht"),
    _any("Naam"),
)
_PRODUCT = opt(E("Product", (E("Categorie", CATEGORIE), opt(E("Code", PRODUCTCODE)))))

SPECS: Final[dict[str, E]] = {
    "jw315": E("Bericht", (
        _header(BERICHT_CODES["jw315"], AGB, GEMEENTE),
        E("Client", (
            *_PERSON,
            opt(_any("GezagsdragerBekend")),
            opt(_any("Commentaar")),
            E("AangevraagdeProducten", (many(E("AangevraagdProduct", (
                E("ReferentieAanbieder", REFERENTIE),
                opt(_any("BeschikkingNummer")),
                _PRODUCT,
                opt(_any("BeschikkingIngangsdatum")),
                E("ToewijzingIngangsdatum", DATE),
                opt(E("ToewijzingEinddatum", DATE)),
                opt(_any("Omvang")),
                opt(_any("Budget")),
                E("Verwijzer", (E("Type", VERWIJZER), opt(_any("Naam")), opt(_any("ZorgverlenerCode")))),
                opt(_any("Raamcontract")),
                opt(_any("Commentaar")),
            ))),)),
        )),
    )),
    "jw301": E("Bericht", (
        _header(BERICHT_CODES["jw301"], GEMEENTE, AGB),
        E("Client", (
            *_PERSON,
            opt(_any("Communicatie")),
            opt(E("JuridischeStatus", CODE2)),
            opt(_any("WettelijkeVertegenwoordiging")),
            opt(_any("Commentaar")),
            opt(_any("Relaties")),
            _any("Contactgegevens"),
            E("ToegewezenProducten", (many(E("ToegewezenProduct", (
                E("ToewijzingNummer", NUMMER),
                opt(E("ReferentieAanbieder", REFERENTIE)),
                _PRODUCT,
                E("Toewijzingsdatum", DATE),
                E("Toewijzingstijd", TIME),
                E("Ingangsdatum", DATE),
                opt(E("Einddatum", DATE)),
                opt(E("RedenWijziging", CODE2)),
                opt(_any("Omvang")),
                opt(_any("Budget")),
                opt(_any("Commentaar")),
            ))),)),
        )),
    )),
    "jw305": E("Bericht", (
        _header(BERICHT_CODES["jw305"], AGB, GEMEENTE),
        E("Client", (
            *_PERSON,
            E("StartProducten", (many(E("StartProduct", (
                opt(E("ToewijzingNummer", NUMMER)),
                _PRODUCT,
                opt(E("ToewijzingIngangsdatum", DATE)),
                E("Begindatum", DATE),
                E("StatusAanlevering", STATUS),
            ))),)),
        )),
    )),
    "jw307": E("Bericht", (
        _header(BERICHT_CODES["jw307"], AGB, GEMEENTE),
        E("Client", (
            *_PERSON,
            E("StopProducten", (many(E("StopProduct", (
                opt(E("ToewijzingNummer", NUMMER)),
                _PRODUCT,
                opt(E("ToewijzingIngangsdatum", DATE)),
                E("Begindatum", DATE),
                E("RedenBeeindiging", CODE2),
                E("Einddatum", DATE),
                E("StatusAanlevering", STATUS),
            ))),)),
        )),
    )),
}
#: Where each message keeps its records (the repeated product element).
RECORDS: Final = {
    "jw315": ("AangevraagdeProducten", "AangevraagdProduct"),
    "jw301": ("ToegewezenProducten", "ToegewezenProduct"),
    "jw305": ("StartProducten", "StartProduct"),
    "jw307": ("StopProducten", "StopProduct"),
}


# -- the parsed message ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Header:
    afzender: str
    ontvanger: str
    identificatie: str
    dagtekening: date


@dataclass(frozen=True, slots=True)
class Client:
    bsn: str = field(repr=False)  # never in a repr, a log line or an error
    birth_date: date


@dataclass(frozen=True, slots=True)
class Record:
    """One product record: its element path and the text of the leaves we read (``Product/Categorie`` …)."""

    element: str
    fields: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.fields.get(name)


@dataclass(frozen=True, slots=True)
class Message:
    kind: str  # jw315 | jw301 | jw305 | jw307
    header: Header
    client: Client
    records: tuple[Record, ...]
    juridische_status: str | None = None

    @property
    def label(self) -> str:
        return self.kind.upper()


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML: no DTD at all (so no entity expansion, no external entities, no billion laughs)."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise IjwRejected([Problem("(document)", "must not contain a DTD or entity declarations")]) from None
    except ParseError as err:
        line, column = err.position
        raise IjwRejected([Problem("(document)", f"is not well-formed XML (line {line}, column {column})")]) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1][:64]


def _check(el: Element, spec: E, path: str, ns: str, problems: list[Problem]) -> None:
    if spec.content is None:
        return
    if callable(spec.content):
        if len(el):
            problems.append(Problem(path, "must not contain elements"))
            return
        reason = spec.content((el.text or "").strip())
        if reason:
            problems.append(Problem(path, reason))
        return
    if (el.text or "").strip() or any((child.tail or "").strip() for child in el):
        problems.append(Problem(path, "must not contain text besides its elements"))
    kids = list(el)
    i = 0
    for child_spec in spec.content:
        count = 0
        while i < len(kids) and kids[i].tag == ns + child_spec.name:
            count += 1
            child_path = f"{path}/{child_spec.name}" + (f"[{count}]" if child_spec.max != 1 else "")
            if child_spec.max is not None and count > child_spec.max:
                problems.append(Problem(child_path, f"may occur at most {child_spec.max} time(s)"))
            else:
                _check(kids[i], child_spec, child_path, ns, problems)
            i += 1
        if count < child_spec.min:
            problems.append(Problem(f"{path}/{child_spec.name}", "is required"))
    for extra in kids[i:]:
        problems.append(Problem(f"{path}/{_local(extra.tag)}", "is not allowed here (unknown element or wrong order)"))


def _leaves(el: Element, spec: E, ns: str, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(spec.content, tuple):
        return out
    for child_spec in spec.content:
        for child in el.findall(ns + child_spec.name):
            if callable(child_spec.content):
                out[prefix + child_spec.name] = (child.text or "").strip()
            elif isinstance(child_spec.content, tuple):
                out.update(_leaves(child, child_spec, ns, f"{prefix}{child_spec.name}/"))
    return out


def _child_spec(spec: E, name: str) -> E:
    assert isinstance(spec.content, tuple)
    return next(s for s in spec.content if s.name == name)


def parse_message(data: bytes) -> Message:
    """An iJw 3.2 message from XML bytes; raises :class:`IjwRejected` with every problem found."""
    root = parse_xml(data)
    match = NAMESPACE.fullmatch(root.tag[1:].split("}", 1)[0]) if root.tag.startswith("{") else None
    if match is None or _local(root.tag) != "Bericht":
        raise IjwRejected([Problem("/", "must be an iJw message: root element Bericht in an iJw namespace")])
    release, kind = match.groups()
    if release != RELEASE:
        raise IjwRejected([Problem("/Bericht", f"is iJw release {release.replace('_', '.')}, not 3.2")])
    if kind not in SPECS:
        supported = ", ".join(k.upper() for k in sorted(SPECS))
        raise IjwRejected([Problem("/Bericht", f"{kind.upper()} is not supported (supported: {supported})")])
    ns = "{" + match.group(0) + "}"
    spec = SPECS[kind]
    problems: list[Problem] = []
    _check(root, spec, "/Bericht", ns, problems)
    if problems:
        raise IjwRejected(problems)
    header = _leaves(root.find(ns + "Header"), _child_spec(spec, "Header"), ns)  # type: ignore[arg-type]
    client_spec = _child_spec(spec, "Client")
    client_el = root.find(ns + "Client")
    assert client_el is not None
    client = _leaves(client_el, client_spec, ns)
    group, item = RECORDS[kind]
    record_spec = _child_spec(_child_spec(client_spec, group), item)
    records = tuple(
        Record(f"/Bericht/Client/{group}/{item}[{n}]", _leaves(el, record_spec, ns))
        for n, el in enumerate(client_el.findall(f"{ns}{group}/{ns}{item}"), start=1)
    )
    return Message(
        kind=kind,
        header=Header(header["Afzender"], header["Ontvanger"], header["BerichtIdentificatie/Identificatie"],
                      date.fromisoformat(header["BerichtIdentificatie/Dagtekening"])),
        client=Client(client["Bsn"], date.fromisoformat(client["Geboortedatum/Datum"])),
        records=records,
        juridische_status=client.get("JuridischeStatus"),
    )

"""Reading an iJw 3.2 message: hardened XML parsing and a structural check against the message definitions.

Only the four messages jeugdstroom derives events from are known (JW315, JW301, JW305, JW307). Their structure
follows the published iJw 3.2 XSDs: the element order, required elements, repetition, namespaces and the formats of
the elements we read are checked here; elements we do not read (names, addresses, Omvang, Budget, …) must be
present where the XSD requires them but their content is not inspected. The check is never stricter than the XSDs
(``tests/unit/test_ijw_xsd.py``): with ``elementFormDefault="qualified"`` the elements declared in a message schema
are in the message's namespace and the children of the shared types (``CDT_*``: BerichtIdentificatie, Geboortedatum,
Product, Verwijzer, …) in the basisschema namespace. An operator who wants the complete XSD check on top configures
``JEUGDSTROOM_IJW_XSD_DIR`` (``xsd.py``).

Every problem names the element path and the rule, never the element's value (a value may be a BSN).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
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
#: The namespace of the shared types' children (``elementFormDefault="qualified"`` in basisschema.xsd).
BASIS_NAMESPACE: Final = "http://www.istandaarden.nl/ijw/3_2/basisschema/schema"
#: Message → BerichtCode (COD002-VEKT).
BERICHT_CODES: Final = {"jw315": "446", "jw301": "436", "jw305": "438", "jw307": "440"}
#: LDT_StatusAanlevering (COD467) as the XSD allows it; CS058 narrows JW305/JW307 to 1 and 3 (``convert``).
STATUS_AANLEVERING: Final = ("1", "2", "3", "9")
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

    def __init__(self, problems: Sequence[Problem], status: int = 422, kind: str | None = None) -> None:
        self.problems = list(problems)
        self.status = status
        self.kind = kind  # the message type when the root element identified it (the metric label)
        super().__init__("; ".join(f"{p.element}: {p.reason}" for p in self.problems))


# -- leaf formats --------------------------------------------------------------------------------------------
Check = Callable[[str], str | None]


def _pattern(regex: str, reason: str) -> Check:
    compiled = re.compile(regex)
    return lambda v: None if compiled.fullmatch(v) else reason


def _date(value: str) -> str | None:
    """LDT_Datum: xs:date without a time zone (years of four digits: Python's dates end at 9999)."""
    reason = "must be a date (YYYY-MM-DD)"
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return reason
    try:
        date.fromisoformat(value)
    except ValueError:
        return reason
    return None


_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?")


def parse_time(value: str) -> time:
    """LDT_Tijd (xs:time without a time zone) as a time: any number of fraction digits (microseconds kept), and
    ``24:00:00`` (xs:time's end of day) as midnight."""
    match = _TIME.fullmatch(value)
    if match is None:
        raise ValueError(value)
    hh, mm, ss, fraction = match.groups()
    if hh == "24" and mm == "00" and ss == "00" and not (fraction or "").strip(".0"):
        return time(0)
    micro = int(((fraction or ".")[1:] + "000000")[:6])
    return time(int(hh), int(mm), int(ss), micro)


def _time(value: str) -> str | None:
    try:
        parse_time(value)
    except ValueError:
        return "must be a time (hh:mm:ss, optionally with a fraction of a second, no time zone)"
    return None


def _bsn(value: str) -> str | None:
    return None if is_valid_bsn(value) else "must be 9 digits that pass the elfproef (CS002)"


def _fixed(expected: str) -> Check:
    return lambda v: None if v == expected else f"must be {expected}"


def _one_of(codes: Sequence[str], name: str) -> Check:
    return lambda v: None if v in codes else f"must be a {name} code ({', '.join(codes)})"


def _nummer(value: str) -> str | None:
    """LDT_Nummer: xs:integer from 0 to 999999999 (leading zeros and a sign are lexically allowed)."""
    if re.fullmatch(r"[+-]?[0-9]+", value) and 0 <= int(value) <= 999_999_999:
        return None
    return "must be a whole number from 0 to 999999999"


def canonical_nummer(value: str) -> str:
    """A LDT_Nummer in its canonical form (``0042`` and ``+42`` are the number 42)."""
    return str(int(value))


def _text(max_length: int, name: str) -> Check:
    """An xs:string of 1 to ``max_length`` characters with at least one that is not white space and no line breaks
    (the XSD pattern ``.*[^\\s].*``; its ``.`` does not match a line break)."""
    compiled = re.compile(r"[^\r\n]*[^\s][^\r\n]*")
    reason = f"must be {name}: 1 to {max_length} characters on one line, not only spaces"
    return lambda v: None if len(v) <= max_length and compiled.fullmatch(v) else reason


DATE: Final = _date
TIME: Final = _time
BSN: Final = _bsn
GEMEENTE: Final = _pattern(r"[0-9]{4}", "must be a gemeente code of 4 digits")
AGB: Final = _pattern(r"[0-9]{8}", "must be an AGB code of 8 digits")
CATEGORIE: Final = _pattern(r"[0-9]{2}", "must be a product category of 2 digits (JZ020)")
PRODUCTCODE: Final = _text(5, "a product code")
NUMMER: Final = _nummer
REFERENTIE: Final = _text(36, "a ReferentieAanbieder")
IDENTIFICATIE: Final = _text(12, "a message Identificatie")
CODE2: Final = _pattern(r"[0-9]{2}", "must be a code of 2 digits")
STATUS: Final = _one_of(STATUS_AANLEVERING, "StatusAanlevering (COD467)")
VERWIJZER: Final = _one_of(COD327, "COD327")
GESLACHT: Final = _one_of(("0", "1", "2"), "LDT_Geslacht")


# -- structure -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class E:
    """One element of a message definition: a leaf with a format check, a sequence of children, or (``None``)
    content that jeugdstroom does not read. ``base``: the element is a child of a shared type and therefore in the
    basisschema namespace; ``preserve``: an xs:string whose white space is part of the value (checked and read as
    sent; every other leaf is read without surrounding white space)."""

    name: str
    content: Check | tuple[E, ...] | None
    min: int = 1
    max: int | None = 1
    base: bool = False
    preserve: bool = False


def opt(e: E) -> E:
    return replace(e, min=0)


def many(e: E) -> E:
    return replace(e, max=None)


def b(e: E) -> E:
    """``e`` as a child of a shared (basisschema) type."""
    return replace(e, base=True)


def _any(name: str) -> E:
    return E(name, None)


def _header(code: str, afzender: Check, ontvanger: Check) -> E:
    return E("Header", (
        E("BerichtCode", _fixed(code)),
        E("BerichtVersie", _fixed("3")),
        E("BerichtSubversie", _fixed("2")),
        E("Afzender", afzender),
        E("Ontvanger", ontvanger),
        E("BerichtIdentificatie", (b(E("Identificatie", IDENTIFICATIE, preserve=True)), b(E("Dagtekening", DATE)))),
        _any("XsdVersie"),
    ))


_PERSON = (
    E("Bsn", BSN),
    E("Geboortedatum", (b(E("Datum", DATE)), opt(b(_any("DatumGebruik"))))),
    E("Geslacht", GESLACHT),
    _any("Naam"),
)
_PRODUCT = opt(E("Product", (b(E("Categorie", CATEGORIE)), opt(b(E("Code", PRODUCTCODE))))))

SPECS: Final[dict[str, E]] = {
    "jw315": E("Bericht", (
        _header(BERICHT_CODES["jw315"], AGB, GEMEENTE),
        E("Client", (
            *_PERSON,
            opt(_any("GezagsdragerBekend")),
            opt(_any("Commentaar")),
            E("AangevraagdeProducten", (many(E("AangevraagdProduct", (
                E("ReferentieAanbieder", REFERENTIE, preserve=True),
                opt(_any("BeschikkingNummer")),
                _PRODUCT,
                opt(_any("BeschikkingIngangsdatum")),
                E("ToewijzingIngangsdatum", DATE),
                opt(E("ToewijzingEinddatum", DATE)),
                opt(_any("Omvang")),
                opt(_any("Budget")),
                E("Verwijzer", (b(E("Type", VERWIJZER)), opt(b(_any("Naam"))), opt(b(_any("ZorgverlenerCode"))))),
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
                opt(E("ReferentieAanbieder", REFERENTIE, preserve=True)),
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
    geslacht: str = "0"  # LDT_Geslacht: 0 onbekend, 1 mannelijk, 2 vrouwelijk


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


@dataclass(frozen=True, slots=True)
class _Ns:
    message: str  # "{http://www.istandaarden.nl/ijw/3_2/jw305/schema}"
    basis: str = "{" + BASIS_NAMESPACE + "}"

    def tag(self, spec: E) -> str:
        return (self.basis if spec.base else self.message) + spec.name


def _value(el: Element, spec: E) -> str:
    text = el.text or ""
    return text if spec.preserve else text.strip()


def _check(el: Element, spec: E, path: str, ns: _Ns, problems: list[Problem]) -> None:
    if spec.content is None:
        return
    if callable(spec.content):
        if len(el):
            problems.append(Problem(path, "must not contain elements"))
            return
        reason = spec.content(_value(el, spec))
        if reason:
            problems.append(Problem(path, reason))
        return
    if (el.text or "").strip() or any((child.tail or "").strip() for child in el):
        problems.append(Problem(path, "must not contain text besides its elements"))
    kids = list(el)
    i = 0
    for child_spec in spec.content:
        count = 0
        tag = ns.tag(child_spec)
        while i < len(kids) and kids[i].tag == tag:
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
        where = f"{path}/{_local(extra.tag)}"
        if _local(extra.tag) in {s.name for s in spec.content}:
            expected = next(s for s in spec.content if s.name == _local(extra.tag))
            namespace = "the basisschema namespace" if expected.base else "the message's namespace"
            problems.append(Problem(where, f"is not allowed here (wrong order, or not in {namespace})"))
        else:
            problems.append(Problem(where, "is not allowed here (unknown element or wrong order)"))


def _leaves(el: Element, spec: E, ns: _Ns, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if not isinstance(spec.content, tuple):
        return out
    for child_spec in spec.content:
        for child in el.findall(ns.tag(child_spec)):
            if callable(child_spec.content):
                out[prefix + child_spec.name] = _value(child, child_spec)
            elif isinstance(child_spec.content, tuple):
                out.update(_leaves(child, child_spec, ns, f"{prefix}{child_spec.name}/"))
    return out


def _child_spec(spec: E, name: str) -> E:
    assert isinstance(spec.content, tuple)
    return next(s for s in spec.content if s.name == name)


def identify(root: Element) -> str:
    """The message type (``jw305`` …) of a parsed document; raises :class:`IjwRejected` for anything else."""
    match = NAMESPACE.fullmatch(root.tag[1:].split("}", 1)[0]) if root.tag.startswith("{") else None
    if match is None or _local(root.tag) != "Bericht":
        raise IjwRejected([Problem("/", "must be an iJw message: root element Bericht in an iJw namespace")])
    release, kind = match.groups()
    if release != RELEASE:
        raise IjwRejected([Problem("/Bericht", f"is iJw release {release.replace('_', '.')}, not 3.2")])
    if kind not in SPECS:
        supported = ", ".join(k.upper() for k in sorted(SPECS))
        raise IjwRejected([Problem("/Bericht", f"{kind.upper()} is not supported (supported: {supported})")])
    return kind


def parse_message(data: bytes, validator: Callable[[str, Element], list[Problem]] | None = None) -> Message:
    """An iJw 3.2 message from XML bytes; raises :class:`IjwRejected` with every problem found.

    ``validator`` (``xsd.XsdValidator``) checks the document against the operator's XSDs after the structural
    check; its problems refuse the message like the structural ones."""
    root = parse_xml(data)
    kind = identify(root)
    ns = _Ns("{" + root.tag[1:].split("}", 1)[0] + "}")
    spec = SPECS[kind]
    problems: list[Problem] = []
    _check(root, spec, "/Bericht", ns, problems)
    if not problems and validator is not None:
        problems = validator(kind, root)
    if problems:
        raise IjwRejected(problems, kind=kind)
    header_el = root.find(ns.tag(_child_spec(spec, "Header")))
    client_spec = _child_spec(spec, "Client")
    client_el = root.find(ns.tag(client_spec))
    assert header_el is not None and client_el is not None
    header = _leaves(header_el, _child_spec(spec, "Header"), ns)
    client = _leaves(client_el, client_spec, ns)
    group, item = RECORDS[kind]
    record_spec = _child_spec(_child_spec(client_spec, group), item)
    records = tuple(
        Record(f"/Bericht/Client/{group}/{item}[{n}]", _leaves(el, record_spec, ns))
        for n, el in enumerate(client_el.findall(f"{ns.message}{group}/{ns.message}{item}"), start=1)
    )
    return Message(
        kind=kind,
        header=Header(header["Afzender"], header["Ontvanger"], header["BerichtIdentificatie/Identificatie"],
                      date.fromisoformat(header["BerichtIdentificatie/Dagtekening"])),
        client=Client(client["Bsn"], date.fromisoformat(client["Geboortedatum/Datum"]), client["Geslacht"]),
        records=records,
        juridische_status=client.get("JuridischeStatus"),
    )

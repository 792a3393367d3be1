"""The fold machinery: what one entity version contributes to the aggregates.

Each series of the catalogue has one pure fold function ``entity version → items``, defined with its indicator in
the entity's module of :mod:`jeugdstroom.monitor.indicators`; the item type depends on the series kind:

* ``count`` → :class:`Item` (one item on a day),
* ``distinct`` → :class:`Member` (a child with an item on a day),
* ``stock`` → :class:`Episode` (active on the days ``start <= d < end``),
* ``duration`` → :class:`Duration` (a value on a day),
* ``waiting`` → :class:`Span` (an item waiting on the days ``start <= d < end``; stored keyed by its start and end
  day, so a read knows how long each item still waiting on a day has waited).
* a series of children counted **distinct per cell** on the day read (``stock``) or over the period's days
  (``distinct`` "in de periode") → :class:`MemberSpan` (a child active on the days ``start <= d < end``; stored
  keyed by start day, pseudonym and end day, so a read counts each child once per cell however many of its
  episodes overlap).

An item's dimensions are canonical :data:`Dims` (``(name, value)`` pairs sorted by name, as stored), built by the
cached helpers below (:func:`gri`, :func:`gr`), so equal dimensions are built and sorted once rather than per item;
:func:`with_leeftijdsklasse`, :func:`with_geslacht` and :func:`with_aanbieder` add a dimension to a fold function.

:func:`contributions` turns items into additive keys (a stock episode into +1 at its start and −1 at
its end), and :func:`deltas` folds a batch of changes as ``contributions(after) − contributions(before)``,
so aggregates are additive and a compensating change undoes exactly. Definitions: docs/indicators.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, update_wrapper
from typing import Any, Literal, NamedTuple, Protocol

from jeugdstroom.common import geography
from jeugdstroom.common.calendar import birthday
from jeugdstroom.common.contracts.unions import AnyChange

Dims = tuple[tuple[str, str], ...]
Table = Literal["count", "stock", "member", "duration", "span", "member_span"]

#: Entries of each dimension cache (distinct gemeente × instelling × value combinations seen).
CACHE = 1 << 16


# -- items ------------------------------------------------------------------------------------------
# Items are values: never changed after they are made, equal and hashing by their fields. They are not declared
# ``frozen``: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (about 3× the cost of a
# plain one), and a fold makes several items per entity version (the rebuild: a whole snapshot's).
@dataclass(slots=True, unsafe_hash=True)
class Item:
    day: date
    dims: Dims


@dataclass(slots=True, unsafe_hash=True)
class Member:
    day: date
    dims: Dims
    pseudonym: str


@dataclass(slots=True, unsafe_hash=True)
class Episode:
    start: date
    end: date | None
    dims: Dims


@dataclass(slots=True, unsafe_hash=True)
class Duration:
    day: date
    dims: Dims
    value: int


@dataclass(slots=True, unsafe_hash=True)
class Span:
    start: date
    end: date | None
    dims: Dims


@dataclass(slots=True, unsafe_hash=True)
class MemberSpan:
    start: date
    end: date | None
    dims: Dims
    pseudonym: str


def span_end(value: int) -> date | None:
    """The end day of a stored span (its ``value``: the end's proleptic ordinal, 0 while open)."""
    return None if value == 0 else date.fromordinal(value)


AnyItem = Item | Member | Episode | Duration | Span | MemberSpan
FoldFn = Callable[[Any], Sequence[AnyItem]]


class Key(NamedTuple):
    """One additive cell at the finest grain: series × day × dims (× pseudonym or duration value). A named
    tuple: hashed and compared in C on the fold's hot path."""

    table: Table
    series: str
    day: date
    dims: Dims
    member: str = ""
    value: int = 0


def dims_key(dims: Dims) -> str:
    return ";".join(f"{k}={v}" for k, v in dims)


def dims(values: Mapping[str, str]) -> Dims:
    """Canonical dims of a mapping (sorted by name)."""
    return tuple(sorted(values.items()))


def contributions(series: str, items: Iterable[AnyItem]) -> list[tuple[Key, int]]:
    """The additive keys (with weights) of a series' items: the definition :func:`deltas` folds by."""
    out: list[tuple[Key, int]] = []
    for it in items:
        if isinstance(it, Item):
            out.append((Key("count", series, it.day, it.dims), 1))
        elif isinstance(it, Member):
            out.append((Key("member", series, it.day, it.dims, member=it.pseudonym), 1))
        elif isinstance(it, Duration):
            out.append((Key("duration", series, it.day, it.dims, value=it.value), 1))
        elif isinstance(it, Span):
            if it.end is None or it.end > it.start:  # else never waiting
                out.append((Key("span", series, it.start, it.dims, value=_end_value(it.end)), 1))
        elif isinstance(it, MemberSpan):
            if it.end is None or it.end > it.start:  # else never active
                out.append(
                    (Key("member_span", series, it.start, it.dims, member=it.pseudonym, value=_end_value(it.end)), 1)
                )
        else:
            if it.end is not None and it.end <= it.start:
                continue  # never active (start <= d < end is empty)
            out.append((Key("stock", series, it.start, it.dims), 1))
            if it.end is not None:
                out.append((Key("stock", series, it.end, it.dims), -1))
    return out


def deltas(changes: Iterable[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]]) -> dict[Key, int]:
    """Net deltas of a batch of changes (zero entries dropped); ``folds`` maps an entity name to its
    series' (id, fold function). The sum of :func:`contributions` (after) − (before), inlined with plain tuples:
    this is the monitor's per-change hot path (tests/unit/test_monitor_fold.py pins it to an item-by-item sum)."""
    out: dict[tuple[Any, ...], int] = {}
    accumulate(changes, folds, out)
    make = Key._make
    return {make(k): v for k, v in out.items() if v}


def net(changes: Iterable[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]]) -> dict[tuple[Any, ...], int]:
    """:func:`deltas` keyed by plain tuples of :class:`Key`'s fields (equal and hashing equal to the :class:`Key`):
    what the live fold writes (``repository.apply_deltas`` and ``pending.affected`` read keys by position), without
    building a named tuple per key."""
    out: dict[tuple[Any, ...], int] = {}
    accumulate(changes, folds, out)
    return {k: v for k, v in out.items() if v}


def accumulate(
    changes: Iterable[AnyChange], folds: Mapping[str, Sequence[tuple[str, FoldFn]]], out: dict[tuple[Any, ...], int]
) -> None:
    """Add the deltas of ``changes`` to ``out``, keyed by plain tuples of :class:`Key`'s fields and with zero entries
    kept: :func:`deltas` without building a :class:`Key` per entry (the rebuild sums a whole snapshot this way)."""
    get = out.get
    for ch in changes:
        fns = folds.get(ch.entity)
        if not fns:
            continue
        for version, w in ((ch.before, -1), (ch.after, 1)):
            if version is None:
                continue
            for series, fn in fns:
                for it in fn(version):
                    t = type(it)
                    if t is Item:
                        k: tuple[Any, ...] = ("count", series, it.day, it.dims, "", 0)  # type: ignore[union-attr]
                    elif t is Member:
                        k = ("member", series, it.day, it.dims, it.pseudonym, 0)  # type: ignore[union-attr]
                    elif t is Duration:
                        k = ("duration", series, it.day, it.dims, "", it.value)  # type: ignore[union-attr]
                    elif t is Span:
                        start, end = it.start, it.end  # type: ignore[union-attr]
                        if end is not None and end <= start:
                            continue  # never waiting
                        k = ("span", series, start, it.dims, "", _end_value(end))
                    elif t is MemberSpan:
                        start, end = it.start, it.end  # type: ignore[union-attr]
                        if end is not None and end <= start:
                            continue  # never active
                        k = ("member_span", series, start, it.dims, it.pseudonym, _end_value(end))  # type: ignore[union-attr]
                    else:
                        start, end = it.start, it.end  # type: ignore[union-attr]
                        if end is not None and end <= start:
                            continue  # never active
                        k = ("stock", series, start, it.dims, "", 0)
                        out[k] = get(k, 0) + w
                        if end is None:
                            continue
                        k = ("stock", series, end, it.dims, "", 0)
                        out[k] = get(k, 0) - w
                        continue
                    out[k] = get(k, 0) + w


# -- helpers ----------------------------------------------------------------------------------------
def _end_value(end: date | None) -> int:
    return 0 if end is None else end.toordinal()


@lru_cache(maxsize=CACHE)
def _place(gemeente: str, instelling: str | None, name: str, value: str) -> Dims:
    """Canonical dims: gemeente (its current code: a code merged away by a herindeling counts in its successor,
    docs/geography.md), its jeugdregio (CBS JZ code), instelling unless None, and ``name`` = ``value`` if named."""
    out = {"gemeente": geography.gemeente(gemeente), "jeugdregio": geography.jeugdregio(gemeente)}
    if instelling is not None:
        out["instelling"] = instelling
    if name:
        out[name] = value
    return dims(out)


class Placed(Protocol):
    """An entity version in a gemeente, described by an instelling: every registry entity (the contracts'
    ``EntityBase``), whatever its type."""

    @property
    def gemeente(self) -> str: ...

    @property
    def instelling(self) -> str: ...


def gri(ep: Placed, name: str = "", value: str = "") -> Dims:
    """gemeente, jeugdregio, instelling (and ``name`` = ``value``)."""
    return _place(ep.gemeente, ep.instelling, name, value)


def gr(ep: Placed, name: str = "", value: str = "") -> Dims:
    """gemeente, jeugdregio (and ``name`` = ``value``)."""
    return _place(ep.gemeente, None, name, value)


#: The birthday up to which (not including) verlengde pleegzorg and gezinshuis 18+ count young adults: 21 by
#: default, 22 or 23 by setting (``Settings.verlengde_pleegzorg_tot``, applied by :func:`configure`).
VERLENGDE_PLEEGZORG_TOT = 21


def configure(verlengde_pleegzorg_tot: int) -> None:
    """Set the upper age of ``verlengde_pleegzorg``/``gezinshuis_18plus`` (the monitor's setting, read by their fold
    functions when they run; a change needs a rebuild of the aggregates, as any change of a definition)."""
    global VERLENGDE_PLEEGZORG_TOT
    if not 21 <= verlengde_pleegzorg_tot <= 23:
        raise ValueError("verlengde_pleegzorg_tot must be 21, 22 or 23")
    VERLENGDE_PLEEGZORG_TOT = verlengde_pleegzorg_tot


# -- leeftijdsklasse --------------------------------------------------------------------------------
AGE = "leeftijdsklasse"
#: CBS age classes of youth-care statistics: (first birthday outside the class, label); from the 23rd birthday "23+".
AGE_CLASSES: tuple[tuple[int, str], ...] = ((4, "0-4"), (12, "4-12"), (18, "12-18"), (23, "18-23"))
AGE_OLDEST = "23+"
#: Every class label, youngest first.
AGE_LABELS: tuple[str, ...] = (*(label for _, label in AGE_CLASSES), AGE_OLDEST)


@lru_cache(maxsize=CACHE)
def _class_birthdays(birth_date: date) -> tuple[tuple[date, str], ...]:
    """(birthday on which the class ends, class) of every class but the oldest, once per birth date (a child's
    entities share it; a fold asks for it per item)."""
    return tuple((birthday(birth_date, upper), label) for upper, label in AGE_CLASSES)


def leeftijdsklasse(birth_date: date, day: date) -> str:
    """The CBS age class of a child on ``day`` (age in whole years; a day before birth counts as 0-4)."""
    for b, label in _class_birthdays(birth_date):
        if day < b:
            return label
    return AGE_OLDEST


def age_spans(birth_date: date, start: date, end: date | None) -> list[tuple[date, date | None, str]]:
    """``[start, end)`` cut at the birthdays where the age class changes: ``(start, end, class)`` pieces. An empty
    episode (end on or before start) stays one piece, so it still contributes nothing."""
    if end is not None and end <= start:
        return [(start, end, leeftijdsklasse(birth_date, start))]
    spans: list[tuple[date, date | None, str]] = []
    lo = start
    for b, label in _class_birthdays(birth_date):
        if lo >= b:
            continue
        if end is not None and end <= b:
            spans.append((lo, end, label))
            return spans
        spans.append((lo, b, label))
        lo = b
    spans.append((lo, end, AGE_OLDEST))
    return spans


@lru_cache(maxsize=CACHE)
def _with_dim(d: Dims, name: str, value: str) -> Dims:
    return dims({**dict(d), name: value})


def with_leeftijdsklasse(fn: FoldFn) -> FoldFn:
    """``fn`` with the dimension ``leeftijdsklasse``: the child's CBS age class on the item's day (for a stock, on
    the day read: an episode is cut at the birthdays where the class changes). Every entity carries the child's
    birth date. Only for the indicators about children that CBS publishes by age (docs/indicators.md)."""

    def folded(version: Any) -> list[AnyItem]:
        birth: date = version.birth_date
        out: list[AnyItem] = []
        for it in fn(version):
            if isinstance(it, Episode):
                out.extend(Episode(s, e, _with_dim(it.dims, AGE, k)) for s, e, k in age_spans(birth, it.start, it.end))
            elif isinstance(it, MemberSpan):
                out.extend(
                    MemberSpan(s, e, _with_dim(it.dims, AGE, k), it.pseudonym)
                    for s, e, k in age_spans(birth, it.start, it.end)
                )
            elif isinstance(it, Member):
                out.append(Member(it.day, _with_dim(it.dims, AGE, leeftijdsklasse(birth, it.day)), it.pseudonym))
            elif isinstance(it, Item):
                out.append(Item(it.day, _with_dim(it.dims, AGE, leeftijdsklasse(birth, it.day))))
            else:
                raise TypeError(f"no leeftijdsklasse for {type(it).__name__} items")
        return out

    return update_wrapper(folded, fn)  # its name, and ``__wrapped__``: the entity module's function


# -- geslacht, aanbieder ----------------------------------------------------------------------------
GESLACHT = "geslacht"
#: Every geslacht value (the contract's ``Geslacht``); Dutch labels where a person reads them (API ``names``).
GESLACHT_NAMES: dict[str, str] = {"man": "Man", "vrouw": "Vrouw", "onbekend": "Onbekend"}
AANBIEDER = "aanbieder"
#: The aanbieder value of an aanmelding that names none (or an entity from before the field existed).
ONBEKEND = "onbekend"


def named_aanbieder(version: Any) -> str:
    """The aanbieder an entity version names in its field ``aanbieder`` (a verblijf segment: its placement's provider;
    an aanmelding: the provider it names), ``onbekend`` where there is none."""
    value: str | None = getattr(version, AANBIEDER, None)
    return value or ONBEKEND


def with_dimension(fn: FoldFn, name: str, value_of: Callable[[Any], str]) -> FoldFn:
    """``fn`` with one more dimension ``name`` whose value is a property of the entity version (the same on every
    item it folds to): ``geslacht`` (the child's, carried by every entity) or ``aanbieder``."""

    def folded(version: Any) -> list[AnyItem]:
        value = value_of(version)
        out: list[AnyItem] = []
        for it in fn(version):
            d = _with_dim(it.dims, name, value)
            if isinstance(it, Episode):
                out.append(Episode(it.start, it.end, d))
            elif isinstance(it, Member):
                out.append(Member(it.day, d, it.pseudonym))
            elif isinstance(it, Duration):
                out.append(Duration(it.day, d, it.value))
            elif isinstance(it, Span):
                out.append(Span(it.start, it.end, d))
            elif isinstance(it, MemberSpan):
                out.append(MemberSpan(it.start, it.end, d, it.pseudonym))
            else:
                out.append(Item(it.day, d))
        return out

    return update_wrapper(folded, fn)  # its name, and ``__wrapped__``: the entity module's function


def with_geslacht(fn: FoldFn) -> FoldFn:
    """``fn`` with the dimension ``geslacht``: the child's latest known geslacht (man, vrouw, onbekend) as the
    registry carries it on every entity of the child (docs/indicators.md, Dimensions)."""
    return with_dimension(fn, GESLACHT, _geslacht_of)


def _geslacht_of(version: Any) -> str:
    value: str = version.geslacht
    return value


def with_aanbieder(fn: FoldFn, value_of: Callable[[Any], str] = named_aanbieder) -> FoldFn:
    """``fn`` with the dimension ``aanbieder``: the provider (AGB code) ``value_of`` the entity version gives (by
    default the one it names, :func:`named_aanbieder`), ``onbekend`` where none."""
    return with_dimension(fn, AANBIEDER, value_of)

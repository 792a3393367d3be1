"""Facts derived across one child's care path (pure; definitions in docs/registry.md).

* links: a beschikking/plaatsing naming ``aanmelding_id`` links to the child's aanmelding(en) with that id (any
  sender); ``beschikking_date`` = decision date (``besluitdatum``, else start) of the earliest linked beschikking;
  ``plaatsing_date`` = start of the earliest linked plaatsing — for an aanmelding for pleegzorg only pleegzorg
  placements count, and without an explicitly linked one the child's first pleegzorg placement that names no
  aanmelding and starts on or after the aanmelding's day ends the wait (iJw never links explicitly);
* ``herhaald``: the latest end of any ended plaatsing or toewijzing beschikking with end <= the aanmelding day
  lies at most 365 days before that day;
* ``overplaatsing``: a placement ended with reden overplaatsing, followed by another placement of the child that
  starts 0..31 days after the end;
* ``instroom``/``instroom_gesloten``: a placement that is not a transfer (after an overplaatsing within 31 days,
  or while another placement — of any form, resp. gesloten — started earlier is still active);
* ``achttien_in_pleegzorg``: per child in pleegzorg on its 18th birthday, whether it is still in pleegzorg N days
  later; known once no open pleegzorg placement decides it or the watermark has passed that day;
* ``verblijf_segment``: per child and group of forms, non-overlapping segments of its days in verblijf, each
  day attributed to one placement (the latest started), so that a stock of segments counts distinct children;
* ``vervolg`` of a separatie episode: it starts less than 24 hours after the end (its start while the end is not
  known) of an earlier episode of the same child at the same instelling (Argus: one intervention);
* findings across entities: ``plaatsing_overlap``, ``koppeling_onbekende_aanmelding``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import get_args

from jeugdstroom.common.calendar import eighteenth_birthday
from jeugdstroom.common.contracts.changes import AchttienFact, VerblijfSegment
from jeugdstroom.common.contracts.codes import PlaatsingVorm
from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingEpisode
from jeugdstroom.common.contracts.kinds.beschikking import BeschikkingEpisode
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.common.contracts.kinds.separatie import SeparatieEpisode
from jeugdstroom.common.vocabulary import GEZINSGERICHT, PLEEGZORG, VORMEN
from jeugdstroom.registry.handlers.facts import Finding, replaced

HERHAALD_DAYS = 365
OVERPLAATSING_DAYS = 31
#: Argus: separatie episodes of one child less than this apart are one intervention.
ARGUS_GAP = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Linked:
    """An episode with the aanmelding it names (None when it names none)."""

    episode: BeschikkingEpisode | PlaatsingEpisode
    aanmelding_id: str | None


def aanmeldingen(
    aanmeldingen: Sequence[AanmeldingEpisode],
    beschikkingen: Sequence[Linked],
    plaatsingen: Sequence[Linked],
) -> list[AanmeldingEpisode]:
    """Aanmeldingen with their links and ``herhaald`` filled in."""
    ends: list[date] = [lk.episode.end for lk in plaatsingen if lk.episode.end is not None]
    ends += [
        lk.episode.end
        for lk in beschikkingen
        if isinstance(lk.episode, BeschikkingEpisode)
        and lk.episode.soort == "toewijzing"
        and lk.episode.end is not None
    ]
    out = []
    for a in aanmeldingen:
        b_starts = [
            _decision_day(lk.episode)
            for lk in beschikkingen
            if lk.aanmelding_id == a.aanmelding_id and lk.episode.start is not None
        ]
        p_starts = _placement_starts(a, plaatsingen)
        previous = max((e for e in ends if e <= a.day), default=None)
        herhaald = previous is not None and (a.day - previous).days <= HERHAALD_DAYS
        links = {
            "beschikking_date": min(b_starts, default=None),
            "plaatsing_date": min(p_starts, default=None),
            "herhaald": herhaald,
        }
        # episodes are immutable: one whose links are already right is kept as is (no copy)
        same = all(getattr(a, k) == v for k, v in links.items())
        out.append(a if same else replaced(a, links))
    return out


def _decision_day(ep: BeschikkingEpisode | PlaatsingEpisode) -> date:
    """When a linked beschikking decided: its besluitdatum where the event carries one, else its start."""
    assert ep.start is not None
    besluit = ep.besluitdatum if isinstance(ep, BeschikkingEpisode) else None
    return besluit if besluit is not None else ep.start


def _placement_starts(a: AanmeldingEpisode, plaatsingen: Sequence[Linked]) -> list[date]:
    """The starts of the placements that end aanmelding ``a``'s wait. For zorgvorm pleegzorg: the pleegzorg
    placements naming ``a`` (an explicit link wins), else the pleegzorg placements naming no aanmelding that start
    on or after ``a.day`` and not after the aanmelding was closed (linked by child and date); a placement in
    another form does not end a pleegzorg wait.
    For other zorgvormen: the placements naming ``a``."""
    if a.zorgvorm != "pleegzorg":
        return [
            lk.episode.start
            for lk in plaatsingen
            if lk.aanmelding_id == a.aanmelding_id and lk.episode.start is not None
        ]
    pleeg = [
        (lk.aanmelding_id, lk.episode.start)
        for lk in plaatsingen
        if isinstance(lk.episode, PlaatsingEpisode) and lk.episode.vorm in PLEEGZORG and lk.episode.start is not None
    ]
    explicit = [start for aid, start in pleeg if aid == a.aanmelding_id]
    closed = a.afgesloten_op or date.max  # a placement after the sender closed the aanmelding is not its end
    return explicit or [start for aid, start in pleeg if aid is None and a.day <= start <= closed]


def link_findings(aanmelding_ids: set[str], linked: Sequence[Linked]) -> list[Finding]:
    """``koppeling_onbekende_aanmelding``: an episode names an aanmelding the child does not have (yet)."""
    out = []
    for lk in linked:
        if lk.aanmelding_id is not None and lk.aanmelding_id not in aanmelding_ids:
            ep = lk.episode
            entity = "beschikking" if isinstance(ep, BeschikkingEpisode) else "plaatsing"
            out.append(
                Finding(
                    "koppeling_onbekende_aanmelding",
                    f"{entity}:{ep.instelling}/{_id(ep)}",
                    ep.instelling,
                    f"{entity} names aanmelding {lk.aanmelding_id!r}, which this child does not have",
                )
            )
    return out


def _id(ep: BeschikkingEpisode | PlaatsingEpisode) -> str:
    return ep.beschikking_id if isinstance(ep, BeschikkingEpisode) else ep.plaatsing_id


def _key(ep: PlaatsingEpisode) -> str:
    return f"{ep.instelling}/{ep.plaatsing_id}"


def plaatsingen(episodes: Sequence[PlaatsingEpisode]) -> tuple[list[PlaatsingEpisode], list[Finding]]:
    """Placements with ``overplaatsing`` filled in, and the overlap findings."""
    out = []
    for p in episodes:
        transfer = False
        if p.end is not None and p.reden_einde == "overplaatsing":
            transfer = any(
                q is not p and q.start is not None and 0 <= (q.start - p.end).days <= OVERPLAATSING_DAYS
                for q in episodes
            )
        out.append(p if p.overplaatsing == transfer else replaced(p, {"overplaatsing": transfer}))
    found = []
    started = sorted((p for p in episodes if p.start is not None), key=_key)
    for i, a in enumerate(started):
        for b in started[i + 1 :]:
            assert a.start is not None and b.start is not None
            if a.start < (b.end or date.max) and b.start < (a.end or date.max):
                found.append(
                    Finding(
                        "plaatsing_overlap",
                        f"plaatsing:{_key(a)}+{_key(b)}",
                        a.instelling,
                        "two placements of this child overlap in time",
                    )
                )
    return out, found


def _transfer(p: PlaatsingEpisode, others: Sequence[PlaatsingEpisode]) -> bool:
    """Whether ``p`` starts as a transfer from one of ``others``: one ended with reden overplaatsing 0..31 days
    before ``p``'s start, or one started before ``p`` (same day: smaller key) and still active on ``p``'s start."""
    assert p.start is not None
    for q in others:
        if q is p or q.start is None:
            continue
        if q.end is not None and q.reden_einde == "overplaatsing" and 0 <= (p.start - q.end).days <= OVERPLAATSING_DAYS:
            return True
        if (q.start, _key(q)) < (p.start, _key(p)) and (q.end is None or q.end > p.start):
            return True
    return False


def instroom(episodes: Sequence[PlaatsingEpisode]) -> list[PlaatsingEpisode]:
    """Placements with ``instroom`` (not a transfer from any other verblijf) and ``instroom_gesloten`` (gesloten,
    and not a transfer from another gesloten placement) filled in (definitions in docs/indicators.md)."""
    gesloten = [q for q in episodes if q.vorm == "gesloten"]
    out = []
    for p in episodes:
        if p.start is None:
            flags = {"instroom": False, "instroom_gesloten": False}
        else:
            flags = {
                "instroom": not _transfer(p, episodes),
                "instroom_gesloten": p.vorm == "gesloten" and not _transfer(p, gesloten),
            }
        same = p.instroom == flags["instroom"] and p.instroom_gesloten == flags["instroom_gesloten"]
        out.append(p if same else replaced(p, flags))
    return out


#: Default days after the 18th birthday on which a child still in pleegzorg counts as continued.
CONTINUERING_DAYS = 30


def achttien(
    episodes: Sequence[PlaatsingEpisode], watermark: date | None, days: int = CONTINUERING_DAYS
) -> tuple[list[AchttienFact], date | None]:
    """The child's ``achttien_in_pleegzorg`` fact (at most one) and the day whose passing by the watermark it still
    waits for (None when known).

    The child is in pleegzorg on its 18th birthday when a pleegzorg placement has ``start <= birthday <= end`` (or
    is open); it continues when any pleegzorg placement is active ``days`` after the birthday. That is known once
    no open pleegzorg placement could decide it (none open, started on or before the check day), or once the
    watermark has passed the check day (an open placement then continues)."""
    pleeg = [(p, p.start) for p in episodes if p.vorm in PLEEGZORG and p.start is not None]
    if not pleeg:
        return [], None
    birthday = eighteenth_birthday(pleeg[0][0].birth_date)
    on_birthday = [p for p, start in pleeg if start <= birthday and (p.end is None or p.end >= birthday)]
    if not on_birthday:
        return [], None
    check = birthday + timedelta(days=days)
    waiting = any(p.end is None and start <= check for p, start in pleeg)
    if waiting and not (watermark is not None and watermark > check):
        return [], check
    placed = any(start <= check and (p.end is None or p.end > check) for p, start in pleeg)
    p = max(on_birthday, key=lambda q: (q.start or birthday, _key(q)))
    fact = AchttienFact(
        instelling=p.instelling,
        pseudonym=p.pseudonym,
        gemeente=p.gemeente,
        birth_date=p.birth_date,
        plaatsing_id=p.plaatsing_id,
        vorm=p.vorm,
        birthday=birthday,
        continues=placed,
    )
    return [fact], None


#: The groups of forms a child's verblijf segments are derived for: verblijf as a whole, gezinsgericht, pleegzorg,
#: and each form.
VERBLIJF_GROEPEN: dict[str, frozenset[str]] = {
    "verblijf": VORMEN,
    "gezinsgericht": GEZINSGERICHT,
    "pleegzorg": PLEEGZORG,
    **{v: frozenset({v}) for v in get_args(PlaatsingVorm)},
}


#: The rank of a (rank, placement) pair (C-level key function).
_RANK = operator.itemgetter(0)


def segmenten(episodes: Sequence[PlaatsingEpisode]) -> list[VerblijfSegment]:
    """Per group of forms, the child's days in a placement of the group as non-overlapping segments: each day is
    attributed to the latest started placement active on it (ties: the larger key), consecutive days of one
    placement form one segment (definitions in docs/indicators.md, "Children, not episodes")."""
    out: list[VerblijfSegment] = []
    # each placement with days (start, end, its rank among placements: start, then key), once for every group
    placed = [
        (p.start, p.end, (p.start, _key(p)), p)
        for p in episodes
        if p.start is not None and (p.end is None or p.end > p.start)
    ]
    if not placed:  # most children: no placement, no segment
        return out
    if len(placed) == 1:  # one placement: one segment, its days, in each group of its form
        start, end, _, p = placed[0]
        return [_segment(groep, p, start, end) for groep, forms in VERBLIJF_GROEPEN.items() if p.vorm in forms]
    for groep, forms in VERBLIJF_GROEPEN.items():
        spans = [s for s in placed if s[3].vorm in forms]
        if not spans:
            continue
        bounds = sorted({d for start, end, _, _ in spans for d in (start, end) if d is not None})
        current: tuple[PlaatsingEpisode, date] | None = None  # (attributed placement, segment start)
        for day in bounds:  # the attribution is constant from one bound to the next
            active = [(rank, p) for start, end, rank, p in spans if start <= day and (end is None or end > day)]
            chosen = max(active, key=_RANK)[1] if active else None
            if current is not None and chosen is current[0]:
                continue
            if current is not None:
                out.append(_segment(groep, current[0], current[1], day))
            current = (chosen, day) if chosen is not None else None
        if current is not None:  # active after the last bound: only an open placement can be
            out.append(_segment(groep, current[0], current[1], None))
    return out


def _segment(groep: str, p: PlaatsingEpisode, start: date, end: date | None) -> VerblijfSegment:
    return VerblijfSegment(
        instelling=p.instelling,
        pseudonym=p.pseudonym,
        gemeente=p.gemeente,
        birth_date=p.birth_date,
        segment_id=f"{groep}:{p.plaatsing_id}:{start.isoformat()}",
        groep=groep,  # type: ignore[arg-type]
        plaatsing_id=p.plaatsing_id,
        vorm=p.vorm,
        start=start,
        end=end,
        aanbieder=p.provider,
    )


def watermark_of(max_day: date | None, grace_days: int) -> date | None:
    """The watermark: the latest event day seen minus the grace period (None before any event)."""
    return max_day - timedelta(days=grace_days) if max_day is not None else None


def separaties(episodes: Sequence[SeparatieEpisode]) -> list[SeparatieEpisode]:
    """Separatie episodes with ``vervolg`` filled in: the episode starts less than 24 hours after the end (its start
    while the end is not known) of an earlier episode (by start, ties by key) of the child at the same instelling."""

    def order(ep: SeparatieEpisode) -> tuple[datetime, str]:
        assert ep.start is not None
        return ep.start, f"{ep.instelling}/{ep.separatie_id}"

    out = []
    for s in episodes:
        vervolg = s.start is not None and any(
            o is not s
            and o.instelling == s.instelling
            and o.start is not None
            and order(o) < order(s)
            and s.start - (o.end or o.start) < ARGUS_GAP
            for o in episodes
        )
        out.append(s if s.vervolg == vervolg else replaced(s, {"vervolg": vervolg}))
    return out

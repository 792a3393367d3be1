"""One child's true care path, told as the clean events its institutions send.

A story is generated per child from its own random generator (seeded by the run's seed and the child's
key), so children are independent: a run can be generated child by child and written as it goes, and a
single day of a national run can be sampled without generating the rest. Every event of a story lies on
or before the window's last day (``as_of``); what would happen later is simply not told yet (a placement
that has not ended is open). The faults a sender adds on top (duplicates, lateness, corrections, invalid
events) are in ``faults.py``; nothing here is wrong on purpose.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

from jeugdstroom.common.bsn import complete_bsn
from jeugdstroom.common.contracts.codes import Verwijzer
from jeugdstroom.simulator import kinds
from jeugdstroom.simulator.draws import birthday, lognormal_days
from jeugdstroom.simulator.kinds import Moment
from jeugdstroom.simulator.regions import Institution, Region

AMS = ZoneInfo("Europe/Amsterdam")
GEZINSGERICHT = ("pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis")

VERWIJZERS: tuple[str, ...] = get_args(Verwijzer)
VERWIJZER_WEIGHTS = (40, 28, 7, 7, 6, 3, 7, 2)
ZORGVORMEN = ("ambulant", "pleegzorg", "gezinshuis", "residentieel", "gesloten", "jeugdbescherming")
ZORGVORM_WEIGHTS = (850, 20, 10, 35, 8, 77)
#: Median length of stay in days, by placement form.
STAY_MEDIAN_DAYS = {
    "pleegzorg_bestand": 600,
    "pleegzorg_netwerk": 800,
    "gezinshuis": 500,
    "residentieel": 160,
    "gesloten": 110,
}
#: How a placement ends when it runs its course (not by the 18th birthday): volgens_plan, voortijdig,
#: overplaatsing, anders.
END_WEIGHTS = {
    "pleegzorg_bestand": (62, 20, 12, 6),
    "pleegzorg_netwerk": (66, 18, 10, 6),
    "gezinshuis": (55, 22, 15, 8),
    "residentieel": (50, 22, 18, 10),
    "gesloten": (50, 10, 35, 5),
}
END_REASONS = ("volgens_plan", "voortijdig", "overplaatsing", "anders")
#: Where a transfer (overplaatsing) goes, by the form it leaves.
NEXT_VORM = {
    "pleegzorg_bestand": (("gezinshuis", 4), ("pleegzorg_bestand", 3), ("residentieel", 3)),
    "pleegzorg_netwerk": (("pleegzorg_bestand", 5), ("gezinshuis", 3), ("residentieel", 2)),
    "gezinshuis": (("pleegzorg_bestand", 3), ("residentieel", 5), ("gezinshuis", 2)),
    "residentieel": (("residentieel", 4), ("gezinshuis", 3), ("gesloten", 15), ("pleegzorg_bestand", 15)),
    "gesloten": (("residentieel", 8), ("gezinshuis", 2)),
}
INSTITUTION_KIND = {
    "pleegzorg_bestand": "pleegzorg",
    "pleegzorg_netwerk": "pleegzorg",
    "gezinshuis": "gezinshuis",
    "residentieel": "residentieel",
    "gesloten": "gesloten",
}
#: Share of children in pleegzorg/gezinshuis on their 18th birthday whose placement continues.
CONTINUE_AT_18 = 0.7
#: Open pleegzorg placements do not reach their 18th birthday in the last days of the window: whether the
#: registry's watermark has passed such a birthday depends on the very last events, so the simulator
#: keeps the ground truth away from that edge (the child leaves at 18 instead).
WATERMARK_EDGE_DAYS = 14
#: Share of placements (other than gesloten) during which the child is placed a second time (CBS counts it once).
P_CONCURRENT = 0.06
#: continuering_18 is decided 30 days after the 18th birthday (the ground truth's default): the edge above is
#: kept for the whole of that wait.
CONTINUERING_DAYS = 30


@dataclass(frozen=True, slots=True)
class Window:
    """The simulated days: ``start`` up to and including ``as_of``."""

    start: date
    as_of: date

    @property
    def days(self) -> int:
        return (self.as_of - self.start).days + 1


@dataclass(frozen=True, slots=True)
class Child:
    key: str  # run-unique label, used in ids (never the BSN)
    bsn: str
    birth_date: date
    gemeente: str  # the current gemeente code (pools, the gemeente as sender)
    reported_gemeente: str = ""  # the code the senders report, if another (a code merged away by a herindeling)

    @property
    def geslacht(self) -> str:
        """The child's geslacht, a function of its BSN (so adding it drew nothing from the story's random stream):
        about 55% man (boys are the majority in CBS's youth-care figures), 44% vrouw, 1% onbekend."""
        u = int.from_bytes(hashlib.sha256(f"geslacht:{self.bsn}".encode()).digest()[:4]) / 2**32
        return "onbekend" if u < 0.01 else "man" if u < 0.56 else "vrouw"

    def as_json(self) -> dict[str, str]:
        """The child as the senders describe it; an unknown geslacht is left out (the field is optional)."""
        gemeente = self.reported_gemeente or self.gemeente
        out = {"bsn": self.bsn, "birth_date": self.birth_date.isoformat(), "gemeente": gemeente}
        if (geslacht := self.geslacht) != "onbekend":
            out["geslacht"] = geslacht
        return out


@dataclass(slots=True)
class Ev:
    """A clean event and its event time (UTC)."""

    event: dict[str, Any]
    at: datetime


class BsnSequence:
    """Unique, valid, random-looking BSNs: a bijective scramble of a counter, skipping failed elfproeven."""

    _MOD = 10**8
    _MUL = 48_271_853  # odd and not a multiple of 5: invertible modulo 10**8

    def __init__(self, salt: int = 0) -> None:
        self._n = 0
        self._salt = (salt * 7_919) % self._MOD

    def next(self) -> str:
        while True:
            base = (self._n * self._MUL + self._salt) % self._MOD
            self._n += 1
            bsn = complete_bsn(f"{base:08d}")
            if bsn is not None:
                return bsn


def _pick(rng: random.Random, options: Sequence[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


@dataclass
class Story:
    """Builder of one child's clean events."""

    child: Child
    rng: random.Random
    window: Window
    region: Region
    events: list[Ev] = field(default_factory=list)
    _n: int = 0
    #: aanmelding id → (sender, data as sent), for its closing
    _aanmeldingen: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    # -- rendering ------------------------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        """A story-unique id with ``prefix``."""
        self._n += 1
        return f"{prefix}-{self.child.key}-{self._n}"

    def moment(self, day: date, first_hour: int = 8, last_hour: int = 18) -> datetime:
        """A random moment (UTC) during the given local hours of ``day``."""
        minute = self.rng.randrange(first_hour * 60, last_hour * 60)
        local = datetime.combine(day, time(minute // 60, minute % 60, self.rng.randrange(60)), AMS)
        return local.astimezone(UTC)

    def iso(self, at: datetime) -> str:
        """An ISO time with offset: mostly Europe/Amsterdam, sometimes UTC (as different systems do)."""
        zone = UTC if self.rng.random() < 0.2 else AMS
        return at.astimezone(zone).isoformat(timespec="seconds")

    def emit(self, etype: str, sender: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
        ev = {
            "id": self.new_id(etype[:3].upper()),
            "type": etype,
            "schema_version": 1,
            "occurred_at": self.iso(at),
            "sender": sender,
            "child": self.child.as_json(),
            "data": data,
        }
        self.events.append(Ev(ev, at))
        return ev

    def told(self, day: date) -> bool:
        return day <= self.window.as_of

    # -- building blocks ------------------------------------------------------------------------------------
    def aanmelding(self, day: date, sender: str, verwijzer: str, zorgvorm: str) -> str:
        aid = self.new_id("A")
        data: dict[str, Any] = {"aanmelding_id": aid, "verwijzer": verwijzer, "zorgvorm": zorgvorm}
        if self.rng.random() < 0.1:
            data["urgent"] = True
        if (aanbieder := self.named_provider(aid, zorgvorm)) is not None:
            data["aanbieder"] = aanbieder
        self.emit("aanmelding", sender, self.moment(day), data)
        self._aanmeldingen[aid] = (sender, data)
        return aid

    def named_provider(self, aid: str, zorgvorm: str) -> str | None:
        """The provider an aanmelding for a placement names, for about half of them: one that serves the child's
        gemeente, chosen by a digest of the aanmelding (so it draws nothing from the story's random stream); the
        child may still be placed elsewhere. None for the other aanmeldingen and for care without placement."""
        if zorgvorm not in INSTITUTION_KIND.values():
            return None
        u = int.from_bytes(hashlib.sha256(f"aanbieder:{self.child.bsn}:{aid}".encode()).digest()[:4])
        if u % 2:
            return None
        pool = self.region.pool(zorgvorm, self.child.gemeente)
        return pool[(u >> 1) % len(pool)].code

    def close_aanmelding(self, aid: str, day: date, reden: str) -> None:
        """The sender closes an aanmelding (an aanmelding event with status afgesloten), if told by then."""
        if not self.told(day):
            return
        sender, data = self._aanmeldingen[aid]
        closing = {**data, "status": "afgesloten", "afgesloten_op": day.isoformat(), "reden_afsluiting": reden}
        self.emit("aanmelding", sender, self.moment(day), closing)

    def beschikking(
        self,
        sender: str,
        soort: str,
        start: date,
        planned_end: date | None,
        actual_end: date | None,
        aanmelding_id: str | None = None,
        besluitdatum: date | None = None,
    ) -> None:
        """A decision issued on ``start`` (taken on ``besluitdatum`` when given); a ``beeindigd`` event follows when
        it ends (actual or planned)."""
        if not self.told(start):
            return
        bid = self.new_id("B")
        data: dict[str, Any] = {
            "beschikking_id": bid,
            "soort": soort,
            "status": "afgegeven",
            "start": start.isoformat(),
        }
        if planned_end is not None:
            data["end"] = planned_end.isoformat()
        if aanmelding_id is not None:
            data["aanmelding_id"] = aanmelding_id
        if besluitdatum is not None:
            data["besluitdatum"] = besluitdatum.isoformat()
        self.emit("beschikking", sender, self.moment(min(start, besluitdatum or start)), data)
        end = actual_end if actual_end is not None else planned_end
        if end is not None and end > start and self.told(end) and (actual_end is not None or self.rng.random() < 0.9):
            self.emit("beschikking", sender, self.moment(end), {**data, "status": "beeindigd", "end": end.isoformat()})

    def plaatsing(
        self,
        provider: Institution,
        vorm: str,
        start: date,
        end: date | None,
        reden: str | None,
        aanmelding_id: str | None,
    ) -> None:
        """A placement: ``gestart`` on its start and ``beeindigd`` on its end (short ones sometimes only the end)."""
        pid = self.new_id("P")
        data: dict[str, Any] = {
            "plaatsing_id": pid,
            "status": "gestart",
            "vorm": vorm,
            "provider": provider.code,
            "start": start.isoformat(),
        }
        if aanmelding_id is not None:
            data["aanmelding_id"] = aanmelding_id
        ended = end is not None and self.told(end)
        only_end = ended and end is not None and (end - start).days < 60 and self.rng.random() < 0.25
        if not only_end:
            self.emit("plaatsing", provider.code, self.moment(start), data)
        if ended and end is not None and reden is not None:
            at = self.moment(end)
            if end == start and not only_end:  # the end event follows the start event of the same day
                at = self.events[-1].at + timedelta(minutes=self.rng.randrange(5, 120))
            self.emit(
                "plaatsing",
                provider.code,
                at,
                {**data, "status": "beeindigd", "end": end.isoformat(), "reden_einde": reden},
            )

    # -- placements -----------------------------------------------------------------------------------------
    def concurrent_placement(self, vorm: str, start: date, end: date | None, bd18: date) -> None:
        """A second placement during a running one, which formally continues: mostly a crisis placement in
        gesloten jeugdhulp, sometimes a second placement of the same form. It ends before the running one, before
        the 18th birthday and before the end of the window (so it never waits for the watermark)."""
        rng = self.rng
        last = min(d for d in (end, bd18 - timedelta(days=1), self.window.as_of) if d is not None)
        room = (last - start).days
        if room < 30:
            return
        begin = start + timedelta(days=rng.randrange(5, room - 20))
        finish = min(last, begin + timedelta(days=lognormal_days(rng, 45, 0.6)))
        kind = _concurrent_vorm(rng, vorm)
        provider = rng.choice(self.region.pool(INSTITUTION_KIND[kind], self.child.gemeente))
        self.plaatsing(provider, kind, begin, finish, "volgens_plan", None)

    def placement_chain(
        self,
        vorm: str,
        start: date,
        aanmelding_id: str | None,
        force_continue: bool = False,
        depth: int = 0,
        not_before: date | None = None,
    ) -> date | None:
        """A placement and the transfers that follow it; returns the last known end (None while open)."""
        rng = self.rng
        bd18, bd21 = birthday(self.child.birth_date, 18), birthday(self.child.birth_date, 21)
        if not self.told(start) or start >= bd18:
            return None
        provider = rng.choice(self.region.pool(INSTITUTION_KIND[vorm], self.child.gemeente))
        end: date | None = start + timedelta(days=lognormal_days(rng, STAY_MEDIAN_DAYS[vorm], 0.8))
        reden = rng.choices(END_REASONS, weights=END_WEIGHTS[vorm])[0]
        assert end is not None
        if not_before is not None and end <= not_before:
            end = not_before + timedelta(days=lognormal_days(rng, STAY_MEDIAN_DAYS[vorm] / 2, 0.8))
        if end > bd18:
            if vorm in GEZINSGERICHT and (force_continue or rng.random() < CONTINUE_AT_18):
                if end >= bd21:
                    end, reden = bd21, "meerderjarig"
            else:
                end, reden = bd18, "meerderjarig"
        open_at_end = end > self.window.as_of
        edge = self.window.as_of - timedelta(days=WATERMARK_EDGE_DAYS + CONTINUERING_DAYS) <= bd18 <= self.window.as_of
        if vorm in GEZINSGERICHT and open_at_end and edge:
            end, reden, open_at_end = bd18, "meerderjarig", False
        if open_at_end:
            end = None
        if vorm == "gesloten":
            gi = rng.choice(self.region.pool("gi", self.child.gemeente))
            soort = "spoedmachtiging" if rng.random() < 0.3 else "machtiging_gesloten"
            m_start = max(self.child.birth_date, start - timedelta(days=rng.randrange(0, 3)))
            self.beschikking(
                gi.code, soort, m_start, m_start + timedelta(days=28 if soort == "spoedmachtiging" else 182), None
            )
        self.plaatsing(provider, vorm, start, end, reden, aanmelding_id)
        if vorm != "gesloten" and rng.random() < P_CONCURRENT:
            self.concurrent_placement(vorm, start, end, bd18)
        kinds.side_stories(self, Moment("placement", provider.code, start, end, vorm))
        if end is None or reden != "overplaatsing" or depth >= 3:
            return end
        roll = rng.random()
        if roll < 0.88:
            gap = rng.randrange(0, 6)
        elif roll < 0.94:
            gap = rng.randrange(45, 120)  # an overplaatsing without a follow-up within 31 days
        else:
            return end
        nxt = _pick(rng, NEXT_VORM[vorm])
        later = self.placement_chain(nxt, end + timedelta(days=gap), None, force_continue, depth + 1)
        return later if later is not None else end


def _concurrent_vorm(rng: random.Random, vorm: str) -> str:
    return "gesloten" if rng.random() < 0.75 else vorm


# -- whole stories ------------------------------------------------------------------------------------------
def new_child_story(story: Story, day: date) -> None:
    """A child referred on ``day``: aanmelding, decisions, care, and sometimes a new referral later."""
    rng = story.rng
    zorgvorm = rng.choices(ZORGVORMEN, weights=ZORGVORM_WEIGHTS)[0]
    _episode(story, day, zorgvorm, depth=0)


def _verwijzer(rng: random.Random, zorgvorm: str) -> str:
    if zorgvorm == "jeugdbescherming":
        return rng.choices(("gecertificeerde_instelling", "rechter_raad", "wijkteam"), weights=(6, 3, 1))[0]
    if zorgvorm == "gesloten":
        return rng.choices(("rechter_raad", "gecertificeerde_instelling", "medisch_specialist"), weights=(5, 4, 1))[0]
    return rng.choices(VERWIJZERS, weights=VERWIJZER_WEIGHTS)[0]


def _episode(story: Story, day: date, zorgvorm: str, depth: int) -> None:
    rng, region, child = story.rng, story.region, story.child
    if not story.told(day) or day >= birthday(child.birth_date, 18):
        return
    gemeente = child.gemeente
    sender = rng.choice(region.pool("gi", gemeente)).code if zorgvorm == "jeugdbescherming" else gemeente
    aid = story.aanmelding(day, sender, _verwijzer(rng, zorgvorm), zorgvorm)
    care_end: date | None = None
    if zorgvorm == "ambulant":
        if rng.random() < 0.05:
            return  # referred, but no care followed
        start = day + timedelta(days=min(120, int(rng.expovariate(1 / 18))))
        care_end = _toewijzingen(story, start, aid)
    elif zorgvorm == "jeugdbescherming":
        care_end = _protection(story, day, aid)
    else:
        vorm = zorgvorm
        if zorgvorm == "pleegzorg":
            vorm = "pleegzorg_netwerk" if rng.random() < 0.35 else "pleegzorg_bestand"
            roll = rng.random()
            wait = (
                rng.randrange(3, 45)
                if roll < 0.5
                else rng.randrange(45, 180)
                if roll < 0.85
                else rng.randrange(180, 365)
                if roll < 0.95
                else 10_000
            )
            if vorm == "pleegzorg_netwerk":
                wait = min(wait, rng.randrange(0, 21))
        elif zorgvorm == "gesloten":
            wait = rng.randrange(0, 4)
        else:
            wait = min(200, int(rng.expovariate(1 / 25)))
        if zorgvorm != "gesloten":
            decided = day + timedelta(days=min(wait, rng.randrange(0, 21)))
            # half the gemeenten report the decision date, a few days before the toewijzing starts
            besluit = max(day, decided - timedelta(days=rng.randrange(0, 8))) if rng.random() < 0.5 else None
            story.beschikking(gemeente, "toewijzing", decided, None, None, aid, besluitdatum=besluit)
        if zorgvorm == "pleegzorg":
            care_end = _pleegzorg_wait(story, day, wait, vorm, aid)
        else:
            care_end = story.placement_chain(vorm, day + timedelta(days=wait), aid)
    if care_end is not None and depth < 2 and rng.random() < 0.15:
        again = care_end + timedelta(days=rng.randrange(7, 540))
        _episode(story, again, "ambulant" if rng.random() < 0.85 else "residentieel", depth + 1)


def _pleegzorg_wait(story: Story, day: date, wait: int, vorm: str, aid: str) -> date | None:
    """A child waiting for a foster family from ``day``: placed after ``wait`` days (the placement names the
    aanmelding, or — as iJw never does — not), sometimes in residentieel care while waiting (which does not end the
    wait), or never placed: then the sender may close the aanmelding."""
    rng = story.rng
    start = day + timedelta(days=wait)
    if wait >= 45 and rng.random() < 0.2:  # residentieel while waiting for a foster family
        interim = day + timedelta(days=rng.randrange(1, 30))
        if wait >= 10_000:
            story.placement_chain("residentieel", interim, None)
        elif story.told(interim) and start < birthday(story.child.birth_date, 18):
            provider = rng.choice(story.region.pool("residentieel", story.child.gemeente))
            story.plaatsing(provider, "residentieel", interim, start, "volgens_plan", None)
    if wait >= 10_000:
        roll = rng.random()
        if roll < 0.5:
            reden = "zonder_plaatsing_beeindigd" if roll < 0.3 else "geplaatst_elders"
            story.close_aanmelding(aid, day + timedelta(days=rng.randrange(60, 300)), reden)
        return None
    link = aid if rng.random() < 0.6 else None
    end = story.placement_chain(vorm, start, link)
    if story.told(start) and rng.random() < 0.2:  # closed after the placement: the placement ended the wait
        story.close_aanmelding(aid, start + timedelta(days=rng.randrange(0, 30)), "anders")
    return end


def _toewijzingen(story: Story, first_start: date, aid: str) -> date | None:
    """Ambulant care: one or two products, each a toewijzing that is sometimes extended, sometimes ended early."""
    rng, gemeente = story.rng, story.child.gemeente
    last_end: date | None = None
    for product in range(2 if rng.random() < 0.4 else 1):
        start = first_start + timedelta(days=rng.randrange(0, 31) if product else 0)
        end: date | None = None
        for _ in range(3):
            planned = start + timedelta(days=rng.choice((91, 182, 182, 365)))
            actual = start + timedelta(days=rng.randrange(14, (planned - start).days)) if rng.random() < 0.3 else None
            story.beschikking(gemeente, "toewijzing", start, planned, actual, aid)
            end = actual or planned
            if actual is not None or rng.random() > 0.5:
                break
            start = planned
        if end is None or not story.told(end):
            return None
        last_end = end if last_end is None else max(last_end, end)
    return last_end


def _protection(story: Story, day: date, aid: str) -> date | None:
    """Child protection: (voorlopige) OTS or voogdij by a GI, sometimes with a placement out of home."""
    rng, child = story.rng, story.child
    gi = rng.choice(story.region.pool("gi", child.gemeente)).code
    bd18 = birthday(child.birth_date, 18)
    start = day + timedelta(days=rng.randrange(0, 6))
    roll = rng.random()
    end: date | None
    if roll < 0.1:
        story.beschikking(gi, "voogdij", start, bd18, None)
        end = bd18
    else:
        if roll < 0.45:
            planned = start + timedelta(days=90)
            ots_start = start + timedelta(days=rng.randrange(28, 91)) if rng.random() < 0.8 else None
            story.beschikking(
                gi,
                "voorlopige_ots",
                start,
                planned,
                ots_start if ots_start is not None and ots_start < planned else None,
            )
            if ots_start is None:
                return planned if story.told(planned) else None
            start = ots_start
        end = min(start + timedelta(days=lognormal_days(rng, 450, 0.6, 30)), bd18)
        story.beschikking(gi, "ots", start, None, end if end > start else None)
    kinds.side_stories(story, Moment("protection", gi, day))
    if rng.random() < 0.35:
        vorm = rng.choices(
            ("pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis", "residentieel"), weights=(35, 25, 10, 30)
        )[0]
        link = aid if rng.random() < 0.5 else None
        placed_end = story.placement_chain(vorm, day + timedelta(days=rng.randrange(0, 121)), link)
        if placed_end is None:
            return None
        end = max(end, placed_end) if end is not None else None
    return end if end is not None and story.told(end) else None


INITIAL_PLANS = ("pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis", "residentieel", "gesloten")
INITIAL_PLAN_WEIGHTS = (33, 22, 10, 30, 5)
INITIAL_BACK_DAYS = {
    "pleegzorg_bestand": 730,
    "pleegzorg_netwerk": 730,
    "gezinshuis": 600,
    "residentieel": 300,
    "gesloten": 100,
    "ots": 700,
    "voogdij": 700,
}


def initial_plan(rng: random.Random, placement: bool) -> str:
    """What a child already in care at the window's start has: a placement form, or ots/voogdij."""
    if placement:
        return rng.choices(INITIAL_PLANS, weights=INITIAL_PLAN_WEIGHTS)[0]
    return "voogdij" if rng.random() < 0.2 else "ots"


def initial_birth(rng: random.Random, ws: date, plan: str) -> date:
    """Birth date of a child in care at ``ws`` (young adults of 18-20 only in pleegzorg/gezinshuis)."""
    max_age = 20.9 if plan in GEZINSGERICHT else 17.6
    min_age = 12.0 if plan in ("residentieel", "gesloten") else 0.3
    return ws - timedelta(days=int(rng.uniform(min_age, max_age) * 365.25))


def initial_story(story: Story, plan: str) -> None:
    """A child already in care when the window starts: its earlier starts are sent as a backlog on day one."""
    rng, ws, birth = story.rng, story.window.start, story.child.birth_date
    bd18 = birthday(birth, 18)
    start = ws - timedelta(days=rng.randrange(1, INITIAL_BACK_DAYS[plan]))
    if plan in INITIAL_PLANS:
        if start >= bd18:
            start = bd18 - timedelta(days=rng.randrange(30, 700))
        start = max(start, birth + timedelta(days=30))
        story.placement_chain(plan, start, None, force_continue=ws >= bd18, not_before=ws)
        return
    gi = rng.choice(story.region.pool("gi", story.child.gemeente)).code
    start = max(birth + timedelta(days=14), start)
    if plan == "voogdij":
        story.beschikking(gi, "voogdij", start, bd18, None)
    else:
        end = min(ws + timedelta(days=lognormal_days(rng, 250, 0.7)), bd18)
        story.beschikking(gi, "ots", start, None, end)


def new_child_birth(rng: random.Random, day: date) -> date:
    """Birth date of a child referred on ``day``: any age from a few months to almost 18, mostly 8-16."""
    age = rng.choices((0.3, 4, 8, 12, 16), weights=(10, 20, 30, 30, 10))[0]
    years = age + rng.uniform(0, 4 if age < 16 else 1.9)
    return day - timedelta(days=int(years * 365.25))

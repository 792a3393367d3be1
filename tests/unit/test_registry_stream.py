"""A realistic registry input stream for tests (published events, child by pseudonym), and order-independence of the
registry's pure projection over it: every arrival order gives the same final state and the same net changes.

The generator is also used by the registry's integration tests (``from tests.unit.test_registry_stream import ...``).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from jeugdstroom.common.contracts import parse_published
from jeugdstroom.common.contracts.events import event_uid
from jeugdstroom.registry.handlers import care_path
from jeugdstroom.registry.handlers.derived import watermark_of
from jeugdstroom.registry.handlers.facts import Correction, Fact, local_day

TZ = ZoneInfo("Europe/Amsterdam")
GEMEENTEN = ("GM1945", "GM0209", "GM0225", "GM0252", "GM0944", "GM0268", "GM0296")
PROVIDERS = ("10000001", "10000002", "10000003")
GI = "20000001"
CLOSED = "30000001"
LAST_DAY = date(2025, 12, 31)
VERBLIJF = {
    "pleegzorg": ("pleegzorg_bestand", "pleegzorg_netwerk"),
    "gezinshuis": ("gezinshuis",),
    "residentieel": ("residentieel",),
    "gesloten": ("gesloten",),
}


def pseudonym(n: int) -> str:
    return hashlib.sha256(f"child-{n}".encode()).hexdigest()


def at(day: date, hour: int = 10) -> str:
    return datetime.combine(day, time(hour), TZ).isoformat()


@dataclass
class Stream:
    """``events``: what the senders sent, in event-time order (with wrong events and their corrections);
    ``clean``: the same story as if every wrong event had been sent right the first time."""

    events: list[dict[str, Any]] = field(default_factory=list)
    clean: list[dict[str, Any]] = field(default_factory=list)
    _n: int = 0

    def event(
        self,
        typ: str,
        sender: str,
        child: dict[str, Any],
        occurred: str,
        data: dict[str, Any],
        *,
        clean: bool = True,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        self._n += 1
        ev = {
            "id": event_id or f"e{self._n}",
            "type": typ,
            "schema_version": 1,
            "occurred_at": occurred,
            "sender": sender,
            "child": dict(child),
            "data": data,
        }
        self.events.append(ev)
        if clean:
            self.clean.append(ev)
        return ev

    def correct(self, wrong: dict[str, Any], occurred: str, replacement: dict[str, Any] | None) -> None:
        """A correctie of ``wrong`` (already in ``events``): intrekken, or vervangen by ``replacement``."""
        self._n += 1
        data: dict[str, Any] = {"target_id": wrong["id"], "action": "vervangen" if replacement else "intrekken"}
        if replacement is not None:
            data["replacement"] = replacement
            self.clean.append(replacement)
        self.events.append(
            {
                "id": f"c{self._n}",
                "type": "correctie",
                "schema_version": 1,
                "occurred_at": occurred,
                "sender": wrong["sender"],
                "child": dict(wrong["child"]),
                "data": data,
            }
        )

    def ordered(self, which: str = "events") -> list[dict[str, Any]]:
        return sorted(getattr(self, which), key=lambda e: (datetime.fromisoformat(e["occurred_at"]), e["id"]))


def generate(children: int = 60, seed: int = 1, corrections: bool = True, unknown_targets: int = 0) -> Stream:
    """Care paths of ``children`` children: aanmelding → beschikking → plaatsing (with ends, transfers, a second
    aanmelding after care), child-protection measures, separaties, gemeente moves, children turning 18 in
    pleegzorg, and (with ``corrections``) wrong events withdrawn or replaced by their sender."""
    rng = random.Random(seed)
    s = Stream()
    for i in range(children):
        gem = rng.choice(GEMEENTEN)
        birth = date(2006 + rng.randrange(9), 1 + rng.randrange(12), 1 + rng.randrange(28))
        child = {"pseudonym": pseudonym(i), "birth_date": birth.isoformat(), "gemeente": gem}
        day0 = date(2024, 1, 1) + timedelta(days=rng.randrange(400))
        if birth.year <= 2007 and rng.random() < 0.6:  # a young adult: referred shortly before turning 18
            day0 = date(birth.year + 17, birth.month, 1) + timedelta(days=rng.randrange(60))
        zorgvorm = rng.choice(["pleegzorg", "pleegzorg", "gezinshuis", "residentieel", "gesloten", "ambulant"])
        aanm = {
            "aanmelding_id": f"a{i}",
            "verwijzer": rng.choice(["wijkteam", "huisarts", "jeugdarts", "zelf"]),
            "zorgvorm": zorgvorm,
            "urgent": rng.random() < 0.2,
        }
        if corrections and rng.random() < 0.15:  # sent with the wrong zorgvorm, then replaced
            wrong = s.event("aanmelding", gem, child, at(day0), {**aanm, "zorgvorm": "ambulant"}, clean=False)
            right = {**wrong, "data": aanm}
            s.correct(wrong, at(day0 + timedelta(days=rng.randrange(1, 10)), 15), right)
        else:
            s.event("aanmelding", gem, child, at(day0), aanm)
        start_b = day0 + timedelta(days=rng.randrange(0, 20))
        besch = {
            "beschikking_id": f"b{i}",
            "soort": "toewijzing",
            "status": "afgegeven",
            "start": start_b.isoformat(),
            "aanmelding_id": f"a{i}",
        }
        s.event("beschikking", gem, child, at(start_b, 11), besch)
        if rng.random() < 0.1:
            s.event(
                "beschikking",
                GI,
                child,
                at(start_b, 12),
                {"beschikking_id": f"ots{i}", "soort": "ots", "status": "afgegeven", "start": start_b.isoformat()},
            )
        if i % 9 == 4:  # a jeugdreclassering trajectory of the GI (its own draws: the other stories stay the same)
            jr = random.Random(f"jr{seed}:{i}")
            start_j = day0 + timedelta(days=jr.randrange(0, 90))
            traject = {"jeugdreclassering_id": f"jr{i}", "status": "gestart", "start": start_j.isoformat()}
            s.event("jeugdreclassering", GI, child, at(start_j, 10), traject)
            end_j = start_j + timedelta(days=jr.randrange(60, 400))
            if end_j <= LAST_DAY:
                ended_j = {**traject, "status": "beeindigd", "end": end_j.isoformat()}
                s.event("jeugdreclassering", GI, child, at(end_j, 10), ended_j)
        if rng.random() < 0.2:  # the child moves to another gemeente
            child = {**child, "gemeente": rng.choice([g for g in GEMEENTEN if g != gem])}
        if zorgvorm not in VERBLIJF:
            end_b = start_b + timedelta(days=rng.randrange(30, 200))
            if end_b <= LAST_DAY:
                s.event(
                    "beschikking", gem, child, at(end_b, 9), {**besch, "status": "beeindigd", "end": end_b.isoformat()}
                )
            continue
        provider = rng.choice(PROVIDERS)
        start_p = day0 + timedelta(days=rng.randrange(5, 60))
        plaats = {
            "plaatsing_id": f"p{i}",
            "status": "gestart",
            "vorm": rng.choice(VERBLIJF[zorgvorm]),
            "provider": provider,
            "start": start_p.isoformat(),
            "aanmelding_id": f"a{i}",
        }
        s.event("plaatsing", provider, child, at(start_p, 12), plaats)
        if corrections and rng.random() < 0.15:  # a placement registered for the wrong child-day, withdrawn
            wrong = s.event(
                "plaatsing",
                provider,
                child,
                at(start_p, 13),
                {**plaats, "plaatsing_id": f"p{i}x", "start": (start_p + timedelta(days=3)).isoformat()},
                clean=False,
            )
            s.correct(wrong, at(start_p + timedelta(days=rng.randrange(1, 5)), 16), None)
        if zorgvorm == "gesloten" and rng.random() < 0.7:
            for k in range(1 + rng.randrange(3)):
                sep_start = datetime.combine(start_p + timedelta(days=1 + 3 * k), time(8 + k), TZ)
                minutes = 60 * 24 * 9 if (i % 4 == 0 and k == 0) else rng.randrange(15, 600)
                sep = {
                    "separatie_id": f"s{i}-{k}",
                    "vorm": rng.choice(["separeerruimte", "afzonderingsruimte"]),
                    "start": sep_start.isoformat(),
                }
                s.event("separatie", CLOSED, child, sep_start.isoformat(), sep)
                sep_end = sep_start + timedelta(minutes=minutes)
                s.event("separatie", CLOSED, child, sep_end.isoformat(), {**sep, "end": sep_end.isoformat()})
        end_p = start_p + timedelta(days=rng.randrange(20, 500))
        if rng.random() < 0.3 or end_p > LAST_DAY:
            continue  # still placed
        reden = rng.choice(["volgens_plan", "voortijdig", "overplaatsing", "overplaatsing", "meerderjarig"])
        eighteen = date(birth.year + 18, birth.month, birth.day)
        if start_p < eighteen < end_p and rng.random() < 0.5:  # care ends on the 18th birthday
            end_p, reden = eighteen, "meerderjarig"
        ended = {**plaats, "status": "beeindigd", "end": end_p.isoformat(), "reden_einde": reden}
        if corrections and rng.random() < 0.1:  # end reported with the wrong date, then replaced
            wrong = s.event(
                "plaatsing",
                provider,
                child,
                at(end_p, 14),
                {**ended, "end": (end_p + timedelta(days=40)).isoformat()},
                clean=False,
            )
            s.correct(wrong, at(end_p + timedelta(days=2), 15), {**wrong, "data": ended})
        else:
            s.event("plaatsing", provider, child, at(end_p, 14), ended)
        if reden == "overplaatsing":
            start_q = end_p + timedelta(days=rng.randrange(0, 45))
            if start_q <= LAST_DAY:
                s.event(
                    "plaatsing",
                    provider,
                    child,
                    at(start_q, 12),
                    {**plaats, "plaatsing_id": f"p{i}b", "start": start_q.isoformat()},
                )
        elif rng.random() < 0.4:  # referred again after care ended
            again = end_p + timedelta(days=rng.randrange(10, 500))
            if again <= LAST_DAY:
                s.event(
                    "aanmelding",
                    gem,
                    child,
                    at(again),
                    {"aanmelding_id": f"a{i}r", "verwijzer": "huisarts", "zorgvorm": zorgvorm},
                )
    for k in range(unknown_targets):
        s._n += 1
        child = {"pseudonym": pseudonym(k), "birth_date": "2010-01-01", "gemeente": GEMEENTEN[0]}
        s.events.append(
            {
                "id": f"c{s._n}",
                "type": "correctie",
                "schema_version": 1,
                "occurred_at": at(date(2025, 6, 1)),
                "sender": PROVIDERS[0],
                "child": child,
                "data": {"target_id": f"never-sent-{k}", "action": "intrekken"},
            }
        )
    return s


# -- an in-memory registry over the pure handlers (what the processor does, minus PostgreSQL) --------------------
class MemoryRegistry:
    def __init__(self, grace_days: int = 7) -> None:
        self.originals: dict[str, Fact] = {}
        self.corrections: list[Correction] = []
        self.states: dict[str, care_path.ChildState] = {}
        self.max_day: date | None = None
        self.grace_days = grace_days
        self.changes: list[care_path.EntityChange] = []
        self.seen: set[str] = set()

    def apply(self, batch: list[dict[str, Any]]) -> None:
        fresh = []
        for ev in batch:
            uid = event_uid(ev["sender"], ev["id"])
            if uid not in self.seen:
                self.seen.add(uid)
                fresh.append((uid, ev))
        for uid, ev in fresh:
            if ev["type"] == "correctie":
                self.corrections.append(Correction.from_json(uid, ev))
            else:
                self.originals[uid] = Fact.from_json(uid, ev)
            day = local_day(datetime.fromisoformat(ev["occurred_at"]))
            self.max_day = day if self.max_day is None else max(self.max_day, day)
        watermark = watermark_of(self.max_day, self.grace_days)
        children = (
            {f.pseudonym for f in self.originals.values()}
            | {c.pseudonym for c in self.corrections}
            | {c.replacement.pseudonym for c in self.corrections if c.replacement}
        )
        for p in sorted(children):
            before = self.states.get(p, care_path.ChildState(p))
            after = care_path.project(p, self.originals, self.corrections, watermark)
            self.changes += care_path.diff(before, after).changes
            self.states[p] = after

    def entities(self) -> dict[tuple[str, str, str], Any]:
        return {(p, *k): ep for p, st in self.states.items() for k, ep in st.entities.items()}

    def findings(self) -> set[tuple[str, str, str]]:
        return {(p, *k) for p, st in self.states.items() for k in st.findings}

    def net_changes(self) -> Counter[tuple[str, bytes]]:
        """Σ(after) − Σ(before) over every change: what a monitor folding the changes ends up with."""
        net: Counter[tuple[str, bytes]] = Counter()
        for ch in self.changes:
            if ch.before is not None:
                net[(ch.entity, orjson.dumps(ch.before.model_dump(mode="json")))] -= 1
            if ch.after is not None:
                net[(ch.entity, orjson.dumps(ch.after.model_dump(mode="json")))] += 1
        return +net


def run(events: list[dict[str, Any]], batch: int = 7) -> MemoryRegistry:
    reg = MemoryRegistry()
    for i in range(0, len(events), batch):
        reg.apply(events[i : i + batch])
    return reg


# -- tests ------------------------------------------------------------------------------------------------------
def test_generated_events_satisfy_the_published_contract() -> None:
    s = generate(40, seed=3, unknown_targets=1)
    types = Counter(e["type"] for e in s.events)
    assert set(types) == {"aanmelding", "beschikking", "plaatsing", "separatie", "jeugdreclassering", "correctie"}
    for ev in s.events:
        parse_published(orjson.dumps(ev))
    assert len({(e["sender"], e["id"]) for e in s.events}) == len(s.events)


def test_every_arrival_order_gives_the_same_state_and_net_changes() -> None:
    s = generate(25, seed=5)
    reference = run(s.ordered())
    assert reference.entities() and reference.changes
    # the changes telescope: folding them gives exactly the final state
    assert reference.net_changes() == Counter(
        (k[1], orjson.dumps(ep.model_dump(mode="json"))) for k, ep in reference.entities().items()
    )
    for seed in range(3):
        shuffled = s.ordered()
        random.Random(seed).shuffle(shuffled)
        other = run(shuffled, batch=1 + seed * 5)
        assert other.entities() == reference.entities()
        assert other.findings() == reference.findings()
        assert other.net_changes() == reference.net_changes()


def test_duplicates_change_nothing() -> None:
    s = generate(15, seed=8)
    once = run(s.ordered())
    thrice = run(s.ordered() * 3)
    assert thrice.entities() == once.entities() and thrice.net_changes() == once.net_changes()
    assert len(thrice.changes) == len(once.changes)


def test_corrections_give_the_state_as_if_the_wrong_events_were_never_sent() -> None:
    s = generate(80, seed=11)
    assert any(e["type"] == "correctie" for e in s.events)
    corrected = run(s.ordered())
    clean = run(s.ordered("clean"))
    assert corrected.entities() == clean.entities()
    assert corrected.findings() == clean.findings()
    # and with every correctie arriving before the event it corrects
    early = sorted(s.events, key=lambda e: (e["type"] != "correctie", e["occurred_at"]))
    assert run(early).entities() == clean.entities()


def test_the_stream_exercises_every_derived_fact() -> None:
    reg = run(generate(120, seed=2).ordered(), batch=50)
    eps = list(reg.entities().values())
    kinds = {f[1] for f in reg.findings()}
    assert any(getattr(e, "overplaatsing", False) for e in eps)
    assert any(getattr(e, "herhaald", False) for e in eps)
    assert any(getattr(e, "plaatsing_date", None) for e in eps)
    facts = [e for k, e in reg.entities().items() if k[1] == "achttien_in_pleegzorg"]
    assert {f.continues for f in facts} == {True, False}
    assert "separatie_te_lang" in kinds

"""A mixed, realistic stream of registry change events for monitor tests, and an independent oracle that
computes every indicator of docs/indicators.md straight from the final entity versions (plain Python;
it deliberately shares no code with the monitor's fold functions or SQL)."""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from jeugdstroom.common import geography
from jeugdstroom.common.kafka import REGISTRY_CHANGES, make_producer
from jeugdstroom.common.settings import Settings

AMS = ZoneInfo("Europe/Amsterdam")
RVN = {"GM1945", "GM0209", "GM0225", "GM0252", "GM0944", "GM0268", "GM0296"}
GEMEENTEN = ["GM0268", "GM0296", "GM1945", "GM0209", "GM0363"]  # GM0363 (Amsterdam) is outside the mapping
INSTELLINGEN = ["11111111", "22222222", "33333333"]
SEP_VORMEN = ["separeerruimte", "afzonderingsruimte", "eigen_kamer_op_slot", "leeggemaakte_kamer"]
PL_VORMEN = ["pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis", "residentieel", "gesloten"]
GEZINSGERICHT = {"pleegzorg_bestand", "pleegzorg_netwerk", "gezinshuis"}
REDENEN = ["volgens_plan", "voortijdig", "overplaatsing", "meerderjarig", "anders"]
SOORTEN = ["toewijzing", "ots", "voorlopige_ots", "voogdij", "machtiging_gesloten"]
ZORGVORMEN = ["pleegzorg", "pleegzorg", "ambulant", "residentieel", "gesloten"]
VERWIJZERS = ["wijkteam", "huisarts", "jeugdarts", "gecertificeerde_instelling", "zelf"]
FIRST, LAST = date(2024, 7, 1), date(2026, 6, 30)


def pseudonym(n: int) -> str:
    return hashlib.sha256(f"child-{n}".encode()).hexdigest()


@dataclass
class Stream:
    #: (pseudonym, change JSON) in production order, duplicates included
    changes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: entity name → final versions (withdrawn entities left out)
    final: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))


def _day(rng: random.Random, lo: date = FIRST, hi: date = LAST) -> date:
    return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def build_stream(seed: int, children: int) -> Stream:
    rng = random.Random(seed)
    out = Stream()
    per_child: list[list[dict[str, Any]]] = []
    for c in range(children):
        p = pseudonym(c)
        birth = (
            _day(rng, date(2005, 6, 1), date(2012, 12, 31))
            if rng.random() < 0.7
            else _day(rng, date(2006, 7, 1), date(2008, 6, 30))
        )  # some turn 18 within the stream
        base = {
            "instelling": rng.choice(INSTELLINGEN),
            "pseudonym": p,
            "gemeente": rng.choice(GEMEENTEN),
            "birth_date": birth.isoformat(),
            "geslacht": ("man", "vrouw", "man", "onbekend")[c % 4],  # by child number: no draw from rng
        }
        chains: list[tuple[str, str, list[dict[str, Any] | None]]] = []
        for k in range(rng.choice([0, 0, 1, 1, 2, 3])):
            start = datetime.combine(_day(rng), datetime.min.time(), AMS) + timedelta(minutes=rng.randint(0, 1439))
            v1 = {
                **base,
                "separatie_id": f"s{c}-{k}",
                "vorm": rng.choice(SEP_VORMEN),
                "start": start,
                "end": None,
                "vervolg": rng.random() < 0.2,
            }
            versions: list[dict[str, Any] | None] = [v1]
            if rng.random() < 0.1:  # the end arrived first
                versions.insert(0, {**v1, "start": None, "end": start + timedelta(minutes=30)})
            if rng.random() < 0.8:
                versions.append(
                    {**v1, "end": start + timedelta(minutes=rng.randint(1, 900), seconds=rng.randint(0, 59))}
                )
            r = rng.random()
            if r < 0.1:
                versions.append(None)  # intrekken
            elif r < 0.2:
                last = versions[-1]
                assert last is not None
                versions.append({**last, "vorm": rng.choice(SEP_VORMEN), "start": last["start"] + timedelta(days=33)})
            chains.append(("separatie", f"s{c}-{k}", versions))
        placements: list[dict[str, Any]] = []
        for k in range(rng.choice([0, 1, 1, 2])):
            start_d = _day(rng, date(2024, 1, 1), LAST)
            v1 = {
                **base,
                "plaatsing_id": f"p{c}-{k}",
                "provider": rng.choice(INSTELLINGEN),
                "vorm": rng.choice(PL_VORMEN),
                "start": start_d,
                "end": None,
                "reden_einde": None,
                "overplaatsing": False,
            }
            v1["instroom"] = rng.random() < 0.7
            v1["instroom_gesloten"] = v1["vorm"] == "gesloten" and rng.random() < 0.8
            versions = [v1]
            if rng.random() < 0.6:
                reden = rng.choice(REDENEN)
                end = start_d + timedelta(days=rng.randint(0, 500))  # may lie after as_of (planned)
                versions.append(
                    {
                        **v1,
                        "end": end,
                        "reden_einde": reden,
                        "overplaatsing": reden == "overplaatsing" and rng.random() < 0.7,
                    }
                )
            r = rng.random()
            if r < 0.07:
                versions.append(None)
            elif r < 0.15:
                last = versions[-1]
                assert last is not None
                versions.append({**last, "vorm": rng.choice(PL_VORMEN)})
            elif r < 0.25:  # a correction elsewhere turns a transfer into instroom or back
                last = versions[-1]
                assert last is not None
                versions.append({**last, "instroom": not last["instroom"]})
            if versions[-1] is not None:
                placements.append(versions[-1])  # type: ignore[arg-type]
            chains.append(("plaatsing", f"p{c}-{k}", versions))
        for k in range(rng.choice([0, 1, 1, 2])):
            day = _day(rng)
            v1 = {
                **base,
                "aanmelding_id": f"a{c}-{k}",
                "verwijzer": rng.choice(VERWIJZERS),
                "zorgvorm": rng.choice(ZORGVORMEN),
                "urgent": rng.random() < 0.3,
                "day": day,
                "beschikking_date": None,
                "plaatsing_date": None,
                "herhaald": rng.random() < 0.2,
            }
            if c % 2 == 0:  # half the aanmeldingen name a provider
                v1["aanbieder"] = INSTELLINGEN[(c + k) % len(INSTELLINGEN)]
            versions = [v1]
            if rng.random() < 0.6:
                versions.append({**v1, "beschikking_date": day + timedelta(days=rng.randint(-5, 60))})
            if rng.random() < 0.5:
                last = versions[-1]
                assert last is not None
                versions.append({**last, "plaatsing_date": day + timedelta(days=rng.randint(-3, 200))})
            if rng.random() < 0.2:
                last = versions[-1]
                assert last is not None
                closed = {"afgesloten_op": day + timedelta(days=rng.randint(0, 150)), "reden_afsluiting": "anders"}
                versions.append({**last, **closed})
            if rng.random() < 0.05:
                versions.append(None)
            chains.append(("aanmelding", f"a{c}-{k}", versions))
        for k in range(rng.choice([0, 0, 1])):
            start_d = _day(rng, date(2024, 1, 1), LAST)
            v1 = {**base, "beschikking_id": f"b{c}-{k}", "soort": rng.choice(SOORTEN), "start": start_d, "end": None}
            versions = [v1]
            if rng.random() < 0.5:
                versions.append({**v1, "end": start_d + timedelta(days=rng.randint(1, 600))})
            chains.append(("beschikking", f"b{c}-{k}", versions))
        for pl in placements:
            b18 = birthday(birth, 18)
            if pl["vorm"] in GEZINSGERICHT and pl["start"] <= b18 <= LAST:
                fact = {
                    **base,
                    "plaatsing_id": pl["plaatsing_id"],
                    "vorm": pl["vorm"],
                    "birthday": b18,
                    "continues": pl["end"] is None or pl["end"] > b18,
                }
                versions = [fact]
                if rng.random() < 0.2:
                    versions.append({**fact, "continues": not fact["continues"]})
                chains.append(("achttien_in_pleegzorg", f"f{pl['plaatsing_id']}", versions))
        for pl in placements:  # verblijf segments (what the registry derives is not modelled: any segments do)
            groups = ["verblijf", pl["vorm"]]
            groups += ["gezinsgericht"] if pl["vorm"] in GEZINSGERICHT else []
            groups += ["pleegzorg"] if pl["vorm"].startswith("pleegzorg") else []
            for groep in groups:
                seg = {
                    **base,
                    "instelling": pl["instelling"],
                    "segment_id": f"{groep}:{pl['plaatsing_id']}:{pl['start'].isoformat()}",
                    "groep": groep,
                    "plaatsing_id": pl["plaatsing_id"],
                    "vorm": pl["vorm"],
                    "start": pl["start"],
                    "end": pl["end"],
                }
                if c % 3:  # else a segment from before the field existed: aanbieder onbekend
                    seg["aanbieder"] = pl["provider"]
                versions = [seg]
                if rng.random() < 0.2:
                    versions.append({**seg, "end": pl["start"] + timedelta(days=rng.randint(1, 400))})
                if rng.random() < 0.05:
                    versions.append(None)
                chains.append(("verblijf_segment", seg["segment_id"], versions))
        jr = random.Random(f"{seed}:jeugdreclassering:{c}")  # its own stream: the rest is unchanged by it
        for k in range(jr.choice([0, 0, 0, 1, 2])):  # sometimes two, which may overlap
            start_d = _day(jr, date(2024, 6, 1), LAST)
            v1 = {**base, "jeugdreclassering_id": f"j{c}-{k}", "start": start_d, "end": None}
            versions = [v1]
            if jr.random() < 0.6:
                versions.append({**v1, "end": start_d + timedelta(days=jr.randint(1, 400))})
            if jr.random() < 0.05:
                versions.append(None)
            chains.append(("jeugdreclassering", f"j{c}-{k}", versions))
        # the child's changes: the chains interleaved at random, each in its own order
        pending = [(entity, key, [None, *versions], 1) for entity, key, versions in chains]
        seq: list[dict[str, Any]] = []
        while pending:
            i = rng.randrange(len(pending))
            entity, key, versions, pos = pending[i]
            seq.append(
                {
                    "change_id": f"{key}:{pos}",
                    "schema_version": 1,
                    "pseudonym": p,
                    "entity": entity,
                    "before": versions[pos - 1],
                    "after": versions[pos],
                }
            )
            if pos + 1 < len(versions):
                pending[i] = (entity, key, versions, pos + 1)
            else:
                pending.pop(i)
                if versions[-1] is not None:
                    out.final[entity].append(versions[-1])
        for j in range(len(seq) - 1, -1, -1):  # duplicates: a republished change, later in the child's order
            if rng.random() < 0.1:
                seq.insert(rng.randint(j + 1, len(seq)), seq[j])
        per_child.append(seq)
    # children merged at random, each child's order kept (one child = one partition key)
    cursors = [0] * len(per_child)
    live = [i for i, s in enumerate(per_child) if s]
    while live:
        i = rng.choice(live)
        out.changes.append((pseudonym(i), per_child[i][cursors[i]]))
        cursors[i] += 1
        if cursors[i] == len(per_child[i]):
            live.remove(i)
    return out


async def produce(settings: Settings, changes: list[tuple[str, dict[str, Any]]]) -> None:
    producer = make_producer(settings)
    await producer.start()
    try:
        topic = settings.topic(REGISTRY_CHANGES)
        for key, change in changes:
            await producer.send(topic, key=key.encode(), value=orjson.dumps(change))
        await producer.flush()
    finally:
        await producer.stop()


# -- the oracle -------------------------------------------------------------------------------------
DIMS: dict[str, tuple[str, ...]] = {
    "separaties": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "separatie_interventies": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "separaties_separeerruimte": ("gemeente", "jeugdregio", "instelling"),
    "afzonderingen_overig": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "separaties_per_1000_verblijfsdagen": ("instelling",),
    "separaties_per_100_opnames": ("instelling",),
    "gesepareerde_jeugdigen": ("gemeente", "jeugdregio", "instelling"),
    "separatie_duur": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "gesloten_actief": ("gemeente", "jeugdregio", "instelling"),
    "gesloten_instroom": ("gemeente", "jeugdregio", "instelling"),
    "gesloten_duur": ("gemeente", "jeugdregio", "instelling"),
    "verblijf_actief": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "verblijf_jeugdigen": ("gemeente", "jeugdregio", "instelling"),
    "aandeel_gezinsgericht": ("gemeente", "jeugdregio"),
    "verblijf_instroom": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "overplaatsingen": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "voortijdig_beeindigd": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "voortijdig_aandeel": ("gemeente", "jeugdregio", "instelling"),
    "verlengde_pleegzorg": ("gemeente", "jeugdregio", "instelling"),
    "gezinshuis_18plus": ("gemeente", "jeugdregio", "instelling"),
    "continuering_18": ("gemeente", "jeugdregio", "instelling"),
    "wachtlijst_pleegzorg": ("gemeente", "jeugdregio", "urgent"),
    "wachtend_pleegzorg_dagen": ("gemeente", "jeugdregio", "urgent"),
    "wachttijd_beschikking": ("gemeente", "jeugdregio", "urgent", "zorgvorm"),
    "wachttijd_plaatsing": ("gemeente", "jeugdregio", "urgent", "zorgvorm"),
    "jeugdbescherming_actief": ("gemeente", "jeugdregio", "instelling", "soort"),
    "jeugdbescherming_duur": ("gemeente", "jeugdregio", "instelling", "soort"),
    "jeugdbescherming_in_periode": ("gemeente", "jeugdregio", "instelling", "soort"),
    "verblijf_jeugdigen_in_periode": ("gemeente", "jeugdregio", "instelling"),
    "verblijf_in_periode": ("gemeente", "jeugdregio", "instelling", "vorm"),
    "gesloten_in_periode": ("gemeente", "jeugdregio", "instelling"),
    "jeugdreclassering_actief": ("gemeente", "jeugdregio", "instelling"),
    "jeugdreclassering_in_periode": ("gemeente", "jeugdregio", "instelling"),
    "jeugdreclassering_instroom": ("gemeente", "jeugdregio", "instelling"),
    "jeugdreclassering_duur": ("gemeente", "jeugdregio", "instelling"),
    "verwijzers": ("gemeente", "jeugdregio", "verwijzer"),
    "herhaald_beroep": ("gemeente", "jeugdregio"),
}
#: The indicators about children published by age class: the child's CBS age class on the item's day (a stock: on
#: the day read) is their last dimension.
BY_AGE = (
    "gesloten_actief",
    "verblijf_actief",
    "verblijf_jeugdigen",
    "jeugdbescherming_actief",
    "jeugdbescherming_in_periode",
    "verblijf_jeugdigen_in_periode",
    "verblijf_in_periode",
    "gesloten_in_periode",
    "jeugdreclassering_actief",
    "jeugdreclassering_in_periode",
    "jeugdreclassering_instroom",
    "gesloten_instroom",
    "verblijf_instroom",
    "gesepareerde_jeugdigen",
    "wachtlijst_pleegzorg",
)
DIMS = {ind: (*names, "leeftijdsklasse") if ind in BY_AGE else names for ind, names in DIMS.items()}
#: geslacht on the same indicators; aanbieder on the placement indicators and the waiting times/list.
BY_AANBIEDER = (
    "gesloten_actief",
    "gesloten_instroom",
    "gesloten_duur",
    "verblijf_actief",
    "verblijf_jeugdigen",
    "verblijf_instroom",
    "overplaatsingen",
    "voortijdig_beeindigd",
    "verlengde_pleegzorg",
    "gezinshuis_18plus",
    "wachtlijst_pleegzorg",
    "wachtend_pleegzorg_dagen",
    "wachttijd_beschikking",
    "wachttijd_plaatsing",
)
DIMS = {
    ind: (*names, *(("geslacht",) if ind in BY_AGE else ()), *(("aanbieder",) if ind in BY_AANBIEDER else ()))
    for ind, names in DIMS.items()
}


def age_class(birth: date, day: date) -> str:
    for upper, label in ((4, "0-4"), (12, "4-12"), (18, "12-18"), (23, "18-23")):
        if day < birthday(birth, upper):
            return label
    return "23+"


def period_start(d: date, period: str) -> date:
    if period == "day":
        return d
    if period == "month":
        return date(d.year, d.month, 1)
    if period == "half_year":
        return date(d.year, 1 if d.month < 7 else 7, 1)
    return date(d.year, 1, 1)


def period_last(s: date, period: str) -> date:
    if period == "day":
        return s
    months = {"month": 1, "half_year": 6, "year": 12}[period]
    m = s.month + months
    return date(s.year + (m - 1) // 12, (m - 1) % 12 + 1, 1) - timedelta(days=1)


def _d(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(v)


def _dt(v: Any) -> datetime:
    return v if isinstance(v, datetime) else datetime.fromisoformat(v)


def birthday(birth: date, years: int) -> date:
    if (birth.month, birth.day) == (2, 29):
        return date(birth.year + years, 3, 1) if (birth.year + years) % 4 else date(birth.year + years, 2, 29)
    return date(birth.year + years, birth.month, birth.day)


def oracle(
    final: dict[str, list[dict[str, Any]]],
    as_of: date,
    periods: tuple[str, ...] = ("day", "month", "half_year", "year"),
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every indicator's rows per period at its full dimension set, as of ``as_of``."""
    counts: dict[str, list[tuple[date, dict[str, str]]]] = defaultdict(list)
    members: dict[str, list[tuple[date, dict[str, str], str]]] = defaultdict(list)
    durations: dict[str, list[tuple[date, dict[str, str], int]]] = defaultdict(list)
    episodes: dict[str, list[tuple[date, date | None, dict[str, str]]]] = defaultdict(list)
    spans: dict[str, list[tuple[date, date | None, dict[str, str]]]] = defaultdict(list)
    #: children counted distinct per cell: on the day read (stocks) or on any day of the period (*_in_periode)
    children: dict[str, list[tuple[date, date | None, dict[str, str], str]]] = defaultdict(list)

    def who(e: dict[str, Any], *names: str) -> dict[str, str]:
        full = {
            "gemeente": geography.gemeente(e["gemeente"]),
            "jeugdregio": geography.jeugdregio(e["gemeente"]),
            "instelling": e["instelling"],
            "leeftijdsklasse": str(e["birth_date"]),  # the class itself depends on the day: see key()
            "geslacht": e.get("geslacht", "onbekend"),
            "aanbieder": e.get("provider") or e.get("aanbieder") or "onbekend",
        }
        return {
            n: (str(e[n]).lower() if isinstance(e[n], bool) else str(e[n])) if n not in full else full[n] for n in names
        }

    for s in final["separatie"]:
        if s["start"] is None:
            continue
        start = _dt(s["start"])
        day = start.astimezone(AMS).date()
        counts["separaties"].append((day, who(s, *DIMS["separaties"])))
        if not s["vervolg"]:
            counts["separatie_interventies"].append((day, who(s, *DIMS["separatie_interventies"])))
        if s["vorm"] == "separeerruimte":
            counts["separaties_separeerruimte"].append((day, who(s, *DIMS["separaties_separeerruimte"])))
        else:
            counts["afzonderingen_overig"].append((day, who(s, *DIMS["afzonderingen_overig"])))
        members["gesepareerde_jeugdigen"].append((day, who(s, *DIMS["gesepareerde_jeugdigen"]), s["pseudonym"]))
        if s["end"] is not None:
            # elapsed time: compare in UTC (aware arithmetic within one ZoneInfo is wall-clock time)
            minutes = math.floor((_dt(s["end"]).astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 60)
            durations["separatie_duur"].append((day, who(s, *DIMS["separatie_duur"]), minutes))
    for p in final["plaatsing"]:
        start, end = (_d(p["start"]) if p["start"] else None), (_d(p["end"]) if p["end"] else None)
        if start is not None:
            if p["instroom"]:
                counts["verblijf_instroom"].append((start, who(p, *DIMS["verblijf_instroom"])))
            else:
                counts["overplaatsingen"].append((start, who(p, *DIMS["overplaatsingen"])))
            if p["vorm"] == "gesloten":
                counts["~opnames"].append((start, {"instelling": p["provider"]}))  # at the provider
                episodes["~gesloten_provider"].append((start, end, {"instelling": p["provider"]}))
                if p["instroom_gesloten"]:
                    counts["gesloten_instroom"].append((start, who(p, *DIMS["gesloten_instroom"])))
                if end is not None:
                    durations["gesloten_duur"].append((end, who(p, *DIMS["gesloten_duur"]), (end - start).days))
        if end is not None:
            if p["reden_einde"] == "voortijdig":
                counts["voortijdig_beeindigd"].append((end, who(p, *DIMS["voortijdig_beeindigd"])))
            counts["~beeindigd"].append((end, who(p, "gemeente", "jeugdregio", "instelling")))
    for g in final["verblijf_segment"]:
        start, end = _d(g["start"]), (_d(g["end"]) if g["end"] else None)
        groep = g["groep"]
        if groep in PL_VORMEN:
            children["verblijf_in_periode"].append(
                (start, end, {**who(g, *(n for n in DIMS["verblijf_in_periode"] if n != "vorm")), "vorm": groep},
                 g["pseudonym"])
            )
        if groep in ("verblijf", "gesloten"):
            ind = "verblijf_jeugdigen_in_periode" if groep == "verblijf" else "gesloten_in_periode"
            children[ind].append((start, end, who(g, *DIMS[ind]), g["pseudonym"]))
        if groep in PL_VORMEN:
            episodes["verblijf_actief"].append(
                (start, end, {**who(g, *(n for n in DIMS["verblijf_actief"] if n != "vorm")), "vorm": groep})
            )
        if groep == "gesloten":
            episodes["gesloten_actief"].append((start, end, who(g, *DIMS["gesloten_actief"])))
        if groep == "verblijf":
            episodes["verblijf_jeugdigen"].append((start, end, who(g, *DIMS["verblijf_jeugdigen"])))
        if groep == "gezinsgericht":
            episodes["~gezinsgericht"].append((start, end, who(g, "gemeente", "jeugdregio", "instelling")))
        if groep in ("pleegzorg", "gezinshuis"):  # pleegzorg → verlengde pleegzorg, gezinshuis → gezinshuis 18+
            birth = _d(g["birth_date"])
            lo, hi = max(start, birthday(birth, 18)), birthday(birth, 21)
            if end is not None:
                hi = min(hi, end)
            adult = "gezinshuis_18plus" if groep == "gezinshuis" else "verlengde_pleegzorg"
            if lo < hi:
                episodes[adult].append((lo, hi, who(g, *DIMS[adult])))
    for a in final["aanmelding"]:
        day = _d(a["day"])
        counts["verwijzers"].append((day, who(a, *DIMS["verwijzers"])))
        if a["herhaald"]:
            counts["herhaald_beroep"].append((day, who(a, *DIMS["herhaald_beroep"])))
        pd = _d(a["plaatsing_date"]) if a["plaatsing_date"] else None
        closed = _d(a["afgesloten_op"]) if a.get("afgesloten_op") else None
        wait_end = min((d for d in (pd, closed) if d is not None), default=None)
        if a["zorgvorm"] == "pleegzorg":
            episodes["wachtlijst_pleegzorg"].append((day, wait_end, who(a, *DIMS["wachtlijst_pleegzorg"])))
            spans["wachtend_pleegzorg_dagen"].append((day, wait_end, who(a, *DIMS["wachtend_pleegzorg_dagen"])))
        for ind, col in (("wachttijd_beschikking", "beschikking_date"), ("wachttijd_plaatsing", "plaatsing_date")):
            if a[col]:
                d = _d(a[col])
                durations[ind].append((d, who(a, *DIMS[ind]), max(0, (d - day).days)))
    for b in final["beschikking"]:
        start, end = _d(b["start"]), (_d(b["end"]) if b["end"] else None)
        if b["soort"] in ("ots", "voorlopige_ots", "voogdij"):
            for ind in ("jeugdbescherming_actief", "jeugdbescherming_in_periode"):  # v2: children, not maatregelen
                children[ind].append((start, end, who(b, *DIMS[ind]), b["pseudonym"]))
        if b["soort"] in ("ots", "voogdij") and end is not None:
            durations["jeugdbescherming_duur"].append((end, who(b, *DIMS["jeugdbescherming_duur"]), (end - start).days))
    for j in final["jeugdreclassering"]:
        start, end = _d(j["start"]), (_d(j["end"]) if j["end"] else None)
        for ind in ("jeugdreclassering_actief", "jeugdreclassering_in_periode"):
            children[ind].append((start, end, who(j, *DIMS[ind]), j["pseudonym"]))
        counts["jeugdreclassering_instroom"].append((start, who(j, *DIMS["jeugdreclassering_instroom"])))
        if end is not None:
            durations["jeugdreclassering_duur"].append(
                (end, who(j, *DIMS["jeugdreclassering_duur"]), (end - start).days)
            )
    for f in final["achttien_in_pleegzorg"]:
        d = who(f, "gemeente", "jeugdregio", "instelling")
        counts["~achttien"].append((_d(f["birthday"]), d))
        if f["continues"]:
            counts["~achttien_continues"].append((_d(f["birthday"]), d))

    def key(d: dict[str, str], names: tuple[str, ...], day: date) -> tuple[str, ...]:
        return tuple(d[n] if n != "leeftijdsklasse" else age_class(_d(d[n]), day) for n in names)

    def count_cells(
        items: list[tuple[date, dict[str, str]]], period: str, names: tuple[str, ...]
    ) -> dict[tuple[date, tuple[str, ...]], int]:
        out: dict[tuple[date, tuple[str, ...]], int] = defaultdict(int)
        for day, d in items:
            if day <= as_of:
                out[(period_start(day, period), key(d, names, day))] += 1
        return out

    def stock_cells(
        eps: list[tuple[date, date | None, dict[str, str]]], period: str, names: tuple[str, ...]
    ) -> dict[tuple[date, tuple[str, ...]], int]:
        out: dict[tuple[date, tuple[str, ...]], int] = defaultdict(int)
        if not eps:
            return out
        s = period_start(min(e[0] for e in eps), period)
        while s <= as_of:
            on = min(period_last(s, period), as_of)
            for start, end, d in eps:
                if start <= on and (end is None or on < end):
                    out[(s, key(d, names, on))] += 1
            s = period_last(s, period) + timedelta(days=1)
        return out

    def child_cells(
        eps: list[tuple[date, date | None, dict[str, str], str]], period: str, names: tuple[str, ...], whole: bool
    ) -> dict[tuple[date, tuple[str, ...]], int]:
        """Distinct children per cell active on the day read (or, ``whole``, on any day of the period); the age
        class is the child's on each day it is counted on (so once per class it passes through in the period)."""
        sets: dict[tuple[date, tuple[str, ...]], set[str]] = defaultdict(set)
        if not eps:
            return {}
        s = period_start(min(e[0] for e in eps), period)
        while s <= as_of:
            on = min(period_last(s, period), as_of)
            lo = s if whole else on
            for start, end, d, child in eps:
                first, last = max(start, lo), on if end is None else min(on, end - timedelta(days=1))
                day = first
                while day <= last:  # the days counted: each gives the child's class on that day
                    sets[(s, key(d, names, day))].add(child)
                    if "leeftijdsklasse" not in names:
                        break
                    day += timedelta(days=1)
            s = period_last(s, period) + timedelta(days=1)
        return {c: len(v) for c, v in sets.items() if v}

    def nearest(values: list[int], p: float) -> int:
        v = sorted(values)
        return v[math.ceil(p * len(v)) - 1]

    def rows(
        cells: dict[tuple[date, tuple[str, ...]], Any], period: str, names: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        return [
            {"period": period, "start": s.isoformat(), "dims": dict(zip(names, k, strict=True)), **fields}
            for (s, k), fields in sorted(cells.items())
        ]

    result: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for period in periods:
        for ind, names in DIMS.items():
            cells: dict[tuple[date, tuple[str, ...]], dict[str, Any]] = {}
            if ind in ("jeugdbescherming_actief", "jeugdreclassering_actief") or ind.endswith("_in_periode"):
                whole = ind.endswith("_in_periode")
                cells = {c: {"value": v} for c, v in child_cells(children[ind], period, names, whole).items()}
            elif ind in counts:
                cells = {c: {"value": v} for c, v in count_cells(counts[ind], period, names).items()}
            elif ind in members:
                sets: dict[tuple[date, tuple[str, ...]], set[str]] = defaultdict(set)
                for day, d, p in members[ind]:
                    if day <= as_of:
                        sets[(period_start(day, period), key(d, names, day))].add(p)
                cells = {c: {"value": len(v)} for c, v in sets.items()}
            elif ind in durations:
                lists: dict[tuple[date, tuple[str, ...]], list[int]] = defaultdict(list)
                for day, d, v in durations[ind]:
                    if day <= as_of:
                        lists[(period_start(day, period), key(d, names, day))].append(v)
                cells = {c: {"value": nearest(v, 0.5), "n": len(v), "p90": nearest(v, 0.9)} for c, v in lists.items()}
            elif ind in episodes:
                cells = {c: {"value": v} for c, v in stock_cells(episodes[ind], period, names).items() if v}
            elif ind in spans or ind == "wachtend_pleegzorg_dagen":
                waited: dict[tuple[date, tuple[str, ...]], list[int]] = defaultdict(list)
                if spans[ind]:
                    s = period_start(min(e[0] for e in spans[ind]), period)
                    while s <= as_of:
                        on = min(period_last(s, period), as_of)
                        for start, end, d in spans[ind]:
                            if start <= on and (end is None or on < end):
                                waited[(s, key(d, names, on))].append((on - start).days)
                        s = period_last(s, period) + timedelta(days=1)
                cells = {c: {"value": nearest(v, 0.5), "n": len(v), "p90": nearest(v, 0.9)} for c, v in waited.items()}
            else:
                if ind == "aandeel_gezinsgericht":
                    den = stock_cells(episodes["verblijf_jeugdigen"], period, names)
                    num = stock_cells(episodes["~gezinsgericht"], period, names)
                elif ind in ("separaties_per_1000_verblijfsdagen", "separaties_per_100_opnames"):
                    num = count_cells(counts["separatie_interventies"], period, names)
                    if ind == "separaties_per_100_opnames":
                        den = count_cells(counts["~opnames"], period, names)
                    else:  # verblijfsdagen: the stock summed over the period's days up to as_of
                        den = defaultdict(int)
                        for first, last, at in episodes["~gesloten_provider"]:
                            on = first
                            while on <= as_of and (last is None or on < last):
                                den[(period_start(on, period), key(at, names, on))] += 1
                                on += timedelta(days=1)
                    per = 1000 if ind == "separaties_per_1000_verblijfsdagen" else 100
                    cells = {
                        c: {"value": round(num.get(c, 0) * per / n, 4), "numerator": num.get(c, 0), "denominator": n}
                        for c, n in den.items()
                        if n >= 1
                    }
                    result[(ind, period)] = rows(cells, period, names)
                    continue
                elif ind == "voortijdig_aandeel":
                    den = count_cells(counts["~beeindigd"], period, names)
                    num = count_cells(counts["voortijdig_beeindigd"], period, names)
                else:
                    den = count_cells(counts["~achttien"], period, names)
                    num = count_cells(counts["~achttien_continues"], period, names)
                cells = {
                    c: {"value": round(num.get(c, 0) / n, 4), "numerator": num.get(c, 0), "denominator": n}
                    for c, n in den.items()
                    if n >= 1
                }
            result[(ind, period)] = rows(cells, period, names)
    return result

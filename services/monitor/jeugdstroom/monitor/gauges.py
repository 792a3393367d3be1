"""The monitor's Prometheus gauges of the headline indicators, targets and baselines (public output: suppressed
like the public API), refreshed from PostgreSQL by a background task."""

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Any

from prometheus_client import Gauge

from jeugdstroom.common import db, geography
from jeugdstroom.common.settings import NulmetingSetting, Settings
from jeugdstroom.monitor import disclosure, fold
from jeugdstroom.monitor import rows as rowlib
from jeugdstroom.monitor.catalogue import CATALOGUE, Indicator
from jeugdstroom.monitor.periods import today
from jeugdstroom.monitor.repository import Scope

HEADLINE = Gauge(
    "jeugdstroom_monitor_indicator_value",
    "Headline indicators, from PostgreSQL, suppressed like public output (a suppressed cell has no sample): counts"
    ' of the running year, stocks and shares as of today. Per jeugdregio (gemeente="") and, for indicators with a'
    ' gemeente dimension, per gemeente: sum the gemeente="" series for regional totals, never the gemeente series'
    " (their suppressed cells are missing). jeugdregio and gemeente are CBS codes (JZ##, GM####), *_naam their names",
    ["indicator", "jeugdregio", "gemeente", "vorm", "jeugdregio_naam", "gemeente_naam"],
)
HEADLINE_BY_GESLACHT = Gauge(
    "jeugdstroom_monitor_indicator_value_by_geslacht",
    "Headline indicators with a geslacht dimension, per jeugdregio and geslacht (man, vrouw, onbekend: bounded);"
    " periods and suppression as jeugdstroom_monitor_indicator_value (a gauge of its own, so sums over that one's"
    ' gemeente="" series stay regional totals). geslacht_naam is the Dutch label (Man, Vrouw, Onbekend)',
    ["indicator", "jeugdregio", "geslacht", "jeugdregio_naam", "geslacht_naam"],
)
TARGET_OFF_TRACK = Gauge(
    "jeugdstroom_monitor_target_off_track",
    "1 while an indicator is off track against its target (docs/indicators.md, Targets), else 0: every target of"
    " the catalogue on the running year's row of its instelling or jeugdregio (pro rata where the target says"
    " so), as of today",
    ["indicator", "instelling", "jeugdregio", "jeugdregio_naam"],
)
BASELINE = Gauge(
    "jeugdstroom_monitor_indicator_baseline",
    "The nulmeting of the headline gauges' cells (docs/indicators.md, Nulmeting; catalogue data: the catalogue's"
    " year per jeugdregio, e.g. JZ32: 2022, or JEUGDSTROOM_NULMETING): the public value of the same cell in the"
    " nulmeting year, labels as jeugdstroom_monitor_indicator_value; no sample where it is unknown or suppressed",
    ["indicator", "jeugdregio", "gemeente", "vorm", "jeugdregio_naam", "gemeente_naam"],
)
TARGET = Gauge(
    "jeugdstroom_monitor_indicator_target",
    "The catalogue's target value of the running year (docs/indicators.md, Targets), labels as"
    " jeugdstroom_monitor_target_off_track: a fixed value (wachtlijst_pleegzorg JZ32: below 5) or factor × the"
    " public nulmeting of the instelling (separaties: 50%); no sample where it cannot be evaluated",
    ["indicator", "instelling", "jeugdregio", "jeugdregio_naam"],
)
GAUGE_INTERVAL_S = 5.0


async def headline_values(
    conn: db.Conn,
    threshold: int,
    as_of: date,
    secret: bytes,
    nulmeting: Mapping[str, NulmetingSetting] | None = None,
    baselines: dict[tuple[str, str, str, str], float] | None = None,
) -> dict[tuple[str, str, str, str], float]:
    """Public values of the headline indicators per jeugdregio and per gemeente (and vorm), keyed by (indicator,
    jeugdregio, gemeente — "" for the regional total —, vorm): counts of the running year, stocks and shares as of
    ``as_of``. Suppressed cells are left out. With ``baselines`` (a dict to fill), also the public nulmeting of the
    same cells (the ``baseline`` of their public API row: the public value of the cell in the nulmeting year, from
    the catalogue's or the configured ``nulmeting``), where it is known and not suppressed."""
    out: dict[tuple[str, str, str, str], float] = {}
    for ind in CATALOGUE.values():
        if not ind.headline:
            continue
        vorm = ("vorm",) if "vorm" in ind.dimensions else ()
        levels = [("jeugdregio", *vorm)]
        if "gemeente" in ind.dimensions:
            levels.append(("jeugdregio", "gemeente", *vorm))
        for group in levels:
            scope = Scope("year", group, as_of, lo=date(as_of.year, 1, 1))
            rows = await rowlib.exact_rows(conn, ind, scope)
            if baselines is not None:
                rows = await rowlib.add_targets(conn, ind, scope, rows, {}, nulmeting or {})
            for row in rows:
                pub = rowlib.public(ind, row, threshold, secret)
                dims = row["dims"]
                key = (ind.id, dims["jeugdregio"], dims.get("gemeente", ""), dims.get("vorm", ""))
                if pub["value"] is not None and rowlib.shown(ind, pub):
                    out[key] = float(pub["value"])
                if baselines is not None and pub.get("baseline") is not None:
                    baselines[key] = float(pub["baseline"])
    return out


async def headline_by_geslacht(
    conn: db.Conn, threshold: int, as_of: date, secret: bytes
) -> dict[tuple[str, str, str], float]:
    """Public values of the headline indicators that have the dimension geslacht, per jeugdregio and geslacht, keyed
    by (indicator, jeugdregio, geslacht); periods as :func:`headline_values`. Suppressed cells are left out. (Not by
    aanbieder: unbounded, docs/indicators.md.)"""
    out: dict[tuple[str, str, str], float] = {}
    for ind in CATALOGUE.values():
        if not ind.headline or fold.GESLACHT not in ind.dimensions:
            continue
        scope = Scope("year", ("jeugdregio", fold.GESLACHT), as_of, lo=date(as_of.year, 1, 1))
        for row in await rowlib.exact_rows(conn, ind, scope):
            pub = rowlib.public(ind, row, threshold, secret)
            if pub["value"] is not None and rowlib.shown(ind, pub):
                out[(ind.id, row["dims"]["jeugdregio"], row["dims"][fold.GESLACHT])] = float(pub["value"])
    return out


async def target_states(
    conn: db.Conn,
    as_of: date,
    nulmeting: Mapping[str, NulmetingSetting],
    threshold: int,
    secret: bytes,
    targets: dict[tuple[str, str, str], float] | None = None,
) -> dict[tuple[str, str, str], bool]:
    """(indicator, instelling, jeugdregio) → off track, for every catalogue target on the running year's rows of
    its dimension, from the **public** rows (the gauge is public output: a status computed from an exact value
    would tell on which side of the target a suppressed cell lies, issue 20). A target restricted to named values
    is on track while its public row is empty (nobody waits); a suppressed row has no status and no sample.
    With ``targets`` (a dict to fill), also the public target value of the same keys: the catalogue's value, or
    ``factor`` × the public nulmeting (``vs_nulmeting``), where it is known."""
    out: dict[tuple[str, str, str], bool] = {}

    def labels(ind: Indicator, dim: str, value: str) -> tuple[str, str, str]:
        return (ind.id, value, "") if dim == "instelling" else (ind.id, "", value)

    for ind in CATALOGUE.values():
        for t in ind.targets:
            for code in t.where:
                if t.rule != "vs_nulmeting":
                    out[labels(ind, t.scope, code)] = False
                    if targets is not None and t.value is not None:
                        targets[labels(ind, t.scope, code)] = float(t.value)
            scope = Scope("year", (t.scope,), as_of, lo=date(as_of.year, 1, 1))
            rows = await rowlib.add_targets(conn, ind, scope, await rowlib.exact_rows(conn, ind, scope), {}, nulmeting)
            for r in rows:
                p = rowlib.public(ind, r, threshold, secret)
                key = labels(ind, t.scope, r["dims"][t.scope])
                if targets is not None and p.get("target") is not None:
                    targets[key] = float(p["target"])
                if not rowlib.shown(ind, p):
                    continue  # published as empty: the default above (or no sample)
                if p.get("target_status") is not None:
                    out[key] = p["target_status"] == "off_track"
                else:
                    out.pop(key, None)  # suppressed or not evaluable: no sample
    return out


def _names(jeugdregio: str, gemeente: str) -> tuple[str, str]:
    """The name labels of a (jeugdregio, gemeente) label pair ("" where the code is "" or has no name)."""
    return (
        (geography.name("jeugdregio", jeugdregio) or "") if jeugdregio else "",
        (geography.name("gemeente", gemeente) or "") if gemeente else "",
    )


async def refresh_forever(pool: Any, settings: Settings) -> None:
    """Set the gauges from the database every :data:`GAUGE_INTERVAL_S` seconds."""
    while True:
        day = today()
        secret = disclosure.noise_secret(settings)
        threshold = settings.suppression_threshold
        baselines: dict[tuple[str, str, str, str], float] = {}
        target_values: dict[tuple[str, str, str], float] = {}
        async with pool.acquire() as conn:
            values = await headline_values(conn, threshold, day, secret, settings.nulmeting, baselines)
            targets = await target_states(conn, day, settings.nulmeting, threshold, secret, target_values)
            by_geslacht = await headline_by_geslacht(conn, threshold, day, secret)
        _set_gauges(values, baselines, by_geslacht, targets, target_values)
        await asyncio.sleep(GAUGE_INTERVAL_S)


def _set_gauges(
    values: dict[tuple[str, str, str, str], float],
    baselines: dict[tuple[str, str, str, str], float],
    by_geslacht: dict[tuple[str, str, str], float],
    targets: dict[tuple[str, str, str], bool],
    target_values: dict[tuple[str, str, str], float],
) -> None:
    """Replace every gauge's samples (synchronous: a scrape never sees a partial set)."""
    HEADLINE.clear()
    for labels, value in values.items():
        HEADLINE.labels(*labels, *_names(labels[1], labels[2])).set(value)
    BASELINE.clear()
    for labels, value in baselines.items():
        BASELINE.labels(*labels, *_names(labels[1], labels[2])).set(value)
    HEADLINE_BY_GESLACHT.clear()
    for (ind_id, regio, g), value in by_geslacht.items():
        HEADLINE_BY_GESLACHT.labels(ind_id, regio, g, _names(regio, "")[0], fold.GESLACHT_NAMES.get(g, g)).set(value)
    TARGET_OFF_TRACK.clear()
    for target_labels, off in targets.items():
        TARGET_OFF_TRACK.labels(*target_labels, *_names(target_labels[2], "")[:1]).set(1 if off else 0)
    TARGET.clear()
    for target_labels, value in target_values.items():
        TARGET.labels(*target_labels, *_names(target_labels[2], "")[:1]).set(value)

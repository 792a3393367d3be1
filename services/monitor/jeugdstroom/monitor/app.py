"""monitor service: consumer loop over registry changes, indicator-topic publisher and relay, JSON API, Prometheus
gauges."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Gauge
from pydantic import BaseModel, Field

from jeugdstroom.common import access, db, geography, problems, retention
from jeugdstroom.common.consumer import StoredOffsetConsumer
from jeugdstroom.common.kafka import REGISTRY_CHANGES
from jeugdstroom.common.observability import add_ops_routes
from jeugdstroom.common.service import service_resources
from jeugdstroom.common.settings import NulmetingSetting, Settings
from jeugdstroom.monitor import access as scoped
from jeugdstroom.monitor import completeness, disclosure, export, fold
from jeugdstroom.monitor import population as poplib
from jeugdstroom.monitor import retention as monitor_retention
from jeugdstroom.monitor import rows as rowlib
from jeugdstroom.monitor.catalogue import CATALOGUE, DIMENSIONS, Indicator
from jeugdstroom.monitor.dashboard import add_dashboard_routes
from jeugdstroom.monitor.periods import PERIODS, next_start, start_of, today
from jeugdstroom.monitor.processor import GROUP, MonitorProcessor
from jeugdstroom.monitor.publisher import PRODUCER
from jeugdstroom.monitor.repository import Scope

log = logging.getLogger(__name__)

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


# -- response models (OpenAPI) ----------------------------------------------------------------------
class IndicatorInfo(BaseModel):
    id: str
    title_nl: str
    title_en: str
    unit: str
    kind: Literal["count", "distinct", "stock", "duration", "waiting", "ratio"]
    dimensions: list[str]
    direction: Literal["down", "up", "operational"]
    target: str | None
    source: str
    headline: bool
    version: int = Field(description="Bumped when the indicator's meaning changes (docs/schema-evolution.md)")


class IndicatorRow(BaseModel):
    """One row: indicator × period × dimension values (docs/indicators.md). Extra fields by kind:
    duration and waiting `n`, `p90`; ratio `numerator`, `denominator`; where a target applies `target`, `target_status`."""

    period: Literal["day", "month", "half_year", "year"]
    start: date = Field(description="First day of the period")
    dims: dict[str, str] = Field(description="Values of the group_by dimensions")
    names: dict[str, str] | None = Field(
        None,
        description="Names of the gemeente and jeugdregio values in dims (e.g. GM0268 → Nijmegen, JZ32 → Rijk van"
        " Nijmegen) and the label of a geslacht value (man → Man); present when dims has any of them",
    )
    value: float | None = Field(description="null when suppressed (public output, small cell)")
    suppressed: bool
    n: int | None = Field(None, description="duration: number of items")
    p90: int | None = Field(None, description="duration: 90th percentile (nearest rank)")
    numerator: int | None = Field(None, description="ratio")
    denominator: int | None = Field(None, description="ratio")
    target: float | None = Field(None, description="target value where one applies")
    target_status: Literal["on_track", "off_track"] | None = None
    baseline_year: int | None = Field(None, description="the row's nulmeting year, where it has one")
    baseline: float | None = Field(
        None, description="the same cell's value in the nulmeting year (null: not covered by the data, or small)"
    )
    change: float | None = Field(None, description="value − baseline")
    per_1000: float | None = Field(
        None,
        description="indicators about children: value per 1,000 inhabitants aged 0 to 23 of the row's gemeente,"
        " jeugdregio or country (of its leeftijdsklasse and geslacht where the row has them), 2 decimals; null"
        " without a loaded population for the cell or when the value is suppressed (docs/indicators.md, Rates)",
    )
    version: int = Field(description="the indicator's version")
    exact: bool | None = Field(None, description="with a scoped reader token: whether this row is exact (in scope)")


class IndicatorValues(BaseModel):
    indicator: str
    version: int
    unit: str
    kind: str
    period: str
    group_by: list[str]
    as_of: date = Field(description="Values as of this day (Europe/Amsterdam)")
    exact: bool = Field(description="true for an operator token (every row exact)")
    scope: str | None = Field(
        None,
        description="The reader token's scope (operator, gemeente:GM0268, jeugdregio:JZ32, instelling:12345678);"
        " with a scoped token each row carries `exact`: true inside the scope, false (public view) elsewhere",
    )
    suppression_threshold: int
    rows: list[IndicatorRow]


class InstellingActivity(BaseModel):
    instelling: str
    naam: str | None = Field(description="as registered with `jeugdstroom sender add --name`")
    last_event_at: str = Field(description="intake's acceptance time of the instelling's newest event seen")
    last_day: date
    active_days: int = Field(description="days (Europe/Amsterdam) with at least one event")
    rhythm_days: float | None = Field(description="mean days between delivery days; null with fewer than 3")
    allowance_days: int | None = Field(description="on schedule while the days since last_day are at most this")
    status: Literal["op_schema", "achter", "onbekend"]


class Completeness(BaseModel):
    as_of: date
    data_tm: date | None = Field(
        description="the earliest last delivery day of the instellingen keeping their rhythm (status op_schema or"
        " onbekend): up to this day they all delivered"
    )
    instellingen: int
    op_schema: int
    achter: int
    onbekend: int
    per_instelling: list[InstellingActivity] | None = Field(
        None, description="only for the operator token (all) and an instelling's scoped token (its own)"
    )


def info(ind: Indicator) -> dict[str, Any]:
    return {
        "id": ind.id,
        "title_nl": ind.title_nl,
        "title_en": ind.title_en,
        "unit": ind.unit,
        "kind": ind.kind,
        "dimensions": list(ind.dimensions),
        "direction": ind.direction,
        "target": ind.target,
        "source": ind.source,
        "headline": ind.headline,
        "version": ind.version,
    }


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


def _latlon(point: tuple[float, float] | None) -> dict[str, float]:
    """``lat``/``lon`` of an area's dot-map position (approximate, docs/geography.md), nothing without one."""
    return {} if point is None else {"lat": point[0], "lon": point[1]}


def geography_document(geo: geography.Geography) -> dict[str, Any]:
    """``GET /v1/geography``: what the gemeente and jeugdregio dimension values mean (docs/geography.md)."""
    regios = geo.jeugdregios.items()
    gemeenten = sorted(geo.gemeenten.values(), key=lambda g: g.code)
    g_pos, r_pos = geography.positions(geo)
    return {
        "source": geo.source,
        "coordinates_source": "jeugdstroom.common/data/coordinates.csv",
        "jeugdregios": [
            {"jeugdregio": c, "naam": n, "gemeenten": geo.gemeenten_of(c), **_latlon(r_pos.get(c))} for c, n in regios
        ],
        "gemeenten": [
            {"gemeente": g.code, "naam": g.naam, "jeugdregio": g.jeugdregio, **_latlon(g_pos.get(g.code))}
            for g in gemeenten
        ],
        "herindelingen": [
            {"gemeente": h.code, "naam": h.naam, "opvolger": h.opvolger, "datum": h.datum.isoformat()}
            for h in sorted(geo.herindelingen.values(), key=lambda h: (h.datum, h.code))
        ],
    }


def _names(jeugdregio: str, gemeente: str) -> tuple[str, str]:
    """The name labels of a (jeugdregio, gemeente) label pair ("" where the code is "" or has no name)."""
    return (
        (geography.name("jeugdregio", jeugdregio) or "") if jeugdregio else "",
        (geography.name("gemeente", gemeente) or "") if gemeente else "",
    )


def create_app(settings: Settings) -> FastAPI:
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        geo = geography.geography()  # fail at start on a broken JEUGDSTROOM_REGIONS_FILE, not at the first batch
        log.info("geography: %d gemeenten, %d jeugdregio's from %s", len(geo.gemeenten), len(geo.jeugdregios), geo.source)
        disclosure.noise_secret(settings)  # fail at start, not at the first public read, without a noise secret
        async with service_resources(settings, pool_size=6) as res:
            pool = res.pool
            state["pool"], state["res"] = pool, res

            processor = MonitorProcessor(settings)

            async def consume() -> None:
                res.consumer = StoredOffsetConsumer(
                    settings, pool, GROUP, [settings.topic(REGISTRY_CHANGES)], processor, "monitor"
                )
                await res.consumer.run()

            async def publish() -> None:
                await processor.publish_forever(pool)

            async def refresh_gauges() -> None:
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
                    HEADLINE.clear()  # no await between clear and set: a scrape never sees a partial set
                    for labels, value in values.items():
                        HEADLINE.labels(*labels, *_names(labels[1], labels[2])).set(value)
                    BASELINE.clear()
                    for labels, value in baselines.items():
                        BASELINE.labels(*labels, *_names(labels[1], labels[2])).set(value)
                    HEADLINE_BY_GESLACHT.clear()
                    for (ind_id, regio, g), value in by_geslacht.items():
                        HEADLINE_BY_GESLACHT.labels(
                            ind_id, regio, g, _names(regio, "")[0], fold.GESLACHT_NAMES.get(g, g)
                        ).set(value)
                    TARGET_OFF_TRACK.clear()
                    for target_labels, off in targets.items():
                        TARGET_OFF_TRACK.labels(*target_labels, *_names(target_labels[2], "")[:1]).set(1 if off else 0)
                    TARGET.clear()
                    for target_labels, value in target_values.items():
                        TARGET.labels(*target_labels, *_names(target_labels[2], "")[:1]).set(value)
                    await asyncio.sleep(GAUGE_INTERVAL_S)

            async def audit_retention() -> None:
                while True:
                    async with pool.acquire() as conn:
                        await scoped.purge(conn, timedelta(days=settings.audit_retention_days))
                    await asyncio.sleep(3600)

            res.tasks.start("monitor-consumer", consume)
            res.tasks.start("monitor-audit-retention", audit_retention)
            res.tasks.start("monitor-retention", lambda: retention.run(
                pool, monitor_retention.targets(settings, PRODUCER, GROUP), settings))
            res.tasks.start("monitor-publisher", publish)
            res.start_relay(PRODUCER, "monitor")
            res.tasks.start("monitor-gauges", refresh_gauges)
            yield

    app = FastAPI(
        title="jeugdstroom monitor",
        version="2",
        lifespan=lifespan,
        description="Youth-care indicators by event time (docs/indicators.md, docs/monitor.md). Public requests"
        " get noisy values with small-cell suppression (docs/privacy.md); the operator token (`Authorization: Bearer"
        " …`) sees exact values, a scoped reader token (`jeugdstroom token add`) exact values inside its scope.",
    )

    # Errors as RFC 9457 problem details; the bearer scheme in the OpenAPI (optional: public reads need no token).
    problems.install(app, auth="optional")

    async def ready() -> bool:
        return bool(await state["res"].ready())

    add_ops_routes(app, ready)
    add_dashboard_routes(app, settings)

    @app.get(
        "/v1/geography",
        summary="The gemeente indeling: every jeugdregio and gemeente (CBS codes and names) and the herindelingen",
    )
    async def geography_doc() -> dict[str, Any]:
        return geography_document(geography.geography())

    @app.get(
        "/v1/completeness",
        summary="How complete the data is: \"data t/m\" and the instellingen per delivery status (docs/monitor.md)",
        response_model=Completeness,
    )
    async def completeness_doc(request: Request) -> dict[str, Any]:
        day = today()
        async with state["pool"].acquire() as conn:
            acts = await completeness.activities(conn)
            reader = await access.reader(conn, settings, request.headers.get("authorization"))
            doc = completeness.summary(acts, day)
            if reader is not None:  # per instelling only for the operator, or an instelling's own token
                mine = [a for a in acts if reader.covers({"instelling": a.instelling})]
                known = await completeness.names(conn, [a.instelling for a in mine])
                doc["per_instelling"] = [completeness.detail(a, day, known.get(a.instelling)) for a in mine]
        return doc

    @app.get("/v1/indicators", summary="The indicator catalogue", response_model=list[IndicatorInfo])
    async def catalogue() -> list[dict[str, Any]]:
        return [info(i) for i in CATALOGUE.values()]

    @app.get("/v1/dimensions", summary="The dimensions of the catalogue (name → description, filter parameter)")
    async def dimensions() -> dict[str, dict[str, Any]]:
        return {name: {"description": d.description, "filter": d.filter} for name, d in DIMENSIONS.items()}

    @app.get(
        "/v1/indicators/{indicator_id}",
        summary="Values of one indicator per period and dimensions",
        response_model=None,
        responses={
            200: {
                "model": IndicatorValues,
                "description": "Rows; empty cells (value 0) are omitted",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            },
            404: {"description": "Unknown indicator"},
            422: {"description": "Invalid parameter"},
        },
    )
    async def values(
        request: Request,
        indicator_id: str,
        period: Annotated[Literal["day", "month", "half_year", "year"], Query()] = "month",
        group_by: Annotated[
            str, Query(description="Comma-separated dimensions of the indicator; empty: totals per period")
        ] = "",
        from_: Annotated[date | None, Query(alias="from", description="Periods overlapping [from, to)")] = None,
        to: Annotated[date | None, Query(description="Exclusive end day")] = None,
        as_of: Annotated[
            date | None, Query(description="Values as of this day; default today (Europe/Amsterdam)")
        ] = None,
        gemeente: Annotated[str | None, Query(pattern="^GM[0-9]{4}$")] = None,
        jeugdregio: Annotated[str | None, Query(max_length=64)] = None,
        instelling: Annotated[str | None, Query(pattern="^([0-9]{8}|GM[0-9]{4})$")] = None,
        leeftijdsklasse: Annotated[
            str | None, Query(pattern="^(0-4|4-12|12-18|18-23|23\\+)$", description="CBS age class, e.g. 12-18")
        ] = None,
        geslacht: Annotated[
            Literal["man", "vrouw", "onbekend"] | None, Query(description="The child's geslacht")
        ] = None,
        aanbieder: Annotated[
            str | None, Query(pattern="^([0-9]{8}|onbekend)$", description="Provider (AGB code), or onbekend")
        ] = None,
        format: Annotated[
            Literal["json", "csv"],
            Query(
                description="csv: the same rows (same suppression) as a file for Excel with Dutch settings: `;`,"
                " decimal comma, UTF-8 with BOM, suppressed cells empty with onderdrukt=ja (docs/monitor.md)"
            ),
        ] = "json",
    ) -> Response:
        ind = CATALOGUE.get(indicator_id)
        if ind is None:
            raise HTTPException(404, f"unknown indicator {indicator_id!r}")
        dims = [d for d in group_by.split(",") if d]
        bad = [d for d in dims if d not in ind.dimensions]
        if bad or len(set(dims)) != len(dims):
            raise HTTPException(
                422, f"group_by: unknown or repeated dimension(s) {bad or dims}; allowed: {list(ind.dimensions)}"
            )
        given = {
            "gemeente": gemeente,
            "jeugdregio": jeugdregio,
            "instelling": instelling,
            "leeftijdsklasse": leeftijdsklasse,
            "geslacht": geslacht,
            "aanbieder": aanbieder,
        }
        assert set(given) == {name for name, d in DIMENSIONS.items() if d.filter}  # the catalogue's filters
        filters = {k: v for k, v in given.items() if v is not None}
        missing = [k for k in filters if k not in ind.dimensions]
        if missing:
            raise HTTPException(422, f"{ind.id} has no dimension(s) {missing}; dimensions: {list(ind.dimensions)}")
        if from_ is not None and to is not None and to <= from_:
            raise HTTPException(422, "to must be after from")
        day = as_of or today()
        scope = Scope(
            period,
            tuple(dims),
            day,
            {k: [v] for k, v in filters.items()},
            lo=start_of(from_, period) if from_ else None,
            hi=next_start(start_of(to - timedelta(days=1), period), period) if to else None,
        )
        threshold = settings.suppression_threshold
        async with state["pool"].acquire() as conn:
            rows = await rowlib.exact_rows(conn, ind, scope)
            rows = await rowlib.add_targets(conn, ind, scope, rows, filters, settings.nulmeting)
            rows = await poplib.add_denominators(conn, ind.kind, ind.dimensions, rows, filters)
            reader = await access.reader(conn, settings, request.headers.get("authorization"))
            out, exact_cells = scoped.rows_for(reader, ind, rows, filters, threshold, disclosure.noise_secret(settings))
            if reader is not None and exact_cells:
                params = {"period": period, "group_by": dims, "from": from_, "to": to, "as_of": day, **filters}
                await scoped.record(conn, reader, ind.id, params, exact_cells)
            out = [{**r, "version": ind.version} for r in out]
            codes = {r["dims"]["instelling"] for r in out if "instelling" in r["dims"]}
            if codes:  # instellingen by name where `jeugdstroom sender add --name` registered one
                out = completeness.with_instelling_names(out, await completeness.names(conn, codes))
        operator = reader is not None and reader.operator
        if format == "csv":
            name = f"{ind.id}-{period}{'-' + '-'.join(dims) if dims else ''}.csv"
            return Response(
                export.rows_csv(ind.id, out, dims),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return JSONResponse(
            {
                "indicator": ind.id,
                "version": ind.version,
                "unit": ind.unit,
                "kind": ind.kind,
                "period": period,
                "group_by": dims,
                "as_of": day.isoformat(),
                "exact": operator,
                "scope": None if reader is None else reader.scope,
                "suppression_threshold": threshold,
                "rows": out,
            }
        )

    assert set(PERIODS) == {"day", "month", "half_year", "year"}
    return app

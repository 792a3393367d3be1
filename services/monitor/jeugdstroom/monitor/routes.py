"""The monitor's JSON API: the catalogue, the dimensions, the geography, completeness and the indicator values
(public, operator and scoped reads; docs/monitor.md)."""

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from jeugdstroom.common import access, db, geography
from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor import access as scoped
from jeugdstroom.monitor import completeness, disclosure, export
from jeugdstroom.monitor import population as poplib
from jeugdstroom.monitor import rows as rowlib
from jeugdstroom.monitor.api_models import Completeness, IndicatorInfo, IndicatorValues
from jeugdstroom.monitor.catalogue import CATALOGUE, DIMENSIONS, Indicator
from jeugdstroom.monitor.periods import next_start, start_of, today
from jeugdstroom.monitor.repository import Scope

# -- query parameters of GET /v1/indicators/{indicator_id} -------------------------------------------
Period = Annotated[Literal["day", "month", "half_year", "year"], Query()]
GroupBy = Annotated[str, Query(description="Comma-separated dimensions of the indicator; empty: totals per period")]
From = Annotated[date | None, Query(alias="from", description="Periods overlapping [from, to)")]
To = Annotated[date | None, Query(description="Exclusive end day")]
AsOf = Annotated[date | None, Query(description="Values as of this day; default today (Europe/Amsterdam)")]
Gemeente = Annotated[str | None, Query(pattern="^GM[0-9]{4}$")]
Jeugdregio = Annotated[str | None, Query(max_length=64)]
Instelling = Annotated[str | None, Query(pattern="^([0-9]{8}|GM[0-9]{4})$")]
Leeftijdsklasse = Annotated[
    str | None, Query(pattern="^(0-4|4-12|12-18|18-23|23\\+)$", description="CBS age class, e.g. 12-18")
]
Geslacht = Annotated[Literal["man", "vrouw", "onbekend"] | None, Query(description="The child's geslacht")]
Aanbieder = Annotated[
    str | None, Query(pattern="^([0-9]{8}|onbekend)$", description="Provider (AGB code), or onbekend")
]
Format = Annotated[
    Literal["json", "csv"],
    Query(
        description="csv: the same rows (same suppression) as a file for Excel with Dutch settings: `;`,"
        " decimal comma, UTF-8 with BOM, suppressed cells empty with onderdrukt=ja (docs/monitor.md)"
    ),
]

VALUES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": IndicatorValues,
        "description": "Rows; empty cells (value 0) are omitted",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    404: {"description": "Unknown indicator"},
    422: {"description": "Invalid parameter"},
}


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


def add_routes(app: FastAPI, settings: Settings, state: dict[str, Any]) -> None:
    """The API's handlers; ``state["pool"]`` is the database pool, set by the lifespan."""
    _add_reference_routes(app)
    _add_completeness_route(app, settings, state)
    _add_values_route(app, settings, state)


def _add_reference_routes(app: FastAPI) -> None:
    @app.get(
        "/v1/geography",
        summary="The gemeente indeling: every jeugdregio and gemeente (CBS codes and names) and the herindelingen",
    )
    async def geography_doc() -> dict[str, Any]:
        return geography_document(geography.geography())

    @app.get("/v1/indicators", summary="The indicator catalogue", response_model=list[IndicatorInfo])
    async def catalogue() -> list[dict[str, Any]]:
        return [info(i) for i in CATALOGUE.values()]

    @app.get("/v1/dimensions", summary="The dimensions of the catalogue (name → description, filter parameter)")
    async def dimensions() -> dict[str, dict[str, Any]]:
        return {name: {"description": d.description, "filter": d.filter} for name, d in DIMENSIONS.items()}


def _add_completeness_route(app: FastAPI, settings: Settings, state: dict[str, Any]) -> None:
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


def _add_values_route(app: FastAPI, settings: Settings, state: dict[str, Any]) -> None:
    @app.get(
        "/v1/indicators/{indicator_id}",
        summary="Values of one indicator per period and dimensions",
        response_model=None,
        responses=VALUES_RESPONSES,
    )
    async def values(
        request: Request,
        indicator_id: str,
        period: Period = "month",
        group_by: GroupBy = "",
        from_: From = None,
        to: To = None,
        as_of: AsOf = None,
        gemeente: Gemeente = None,
        jeugdregio: Jeugdregio = None,
        instelling: Instelling = None,
        leeftijdsklasse: Leeftijdsklasse = None,
        geslacht: Geslacht = None,
        aanbieder: Aanbieder = None,
        format: Format = "json",
    ) -> Response:
        ind = CATALOGUE.get(indicator_id)
        if ind is None:
            raise HTTPException(404, f"unknown indicator {indicator_id!r}")
        given = {
            "gemeente": gemeente,
            "jeugdregio": jeugdregio,
            "instelling": instelling,
            "leeftijdsklasse": leeftijdsklasse,
            "geslacht": geslacht,
            "aanbieder": aanbieder,
        }
        dims, filters = _checked(ind, group_by, given, from_, to)
        day = as_of or today()
        scope = Scope(
            period,
            tuple(dims),
            day,
            {k: [v] for k, v in filters.items()},
            lo=start_of(from_, period) if from_ else None,
            hi=next_start(start_of(to - timedelta(days=1), period), period) if to else None,
        )
        params = {"period": period, "group_by": dims, "from": from_, "to": to, "as_of": day, **filters}
        async with state["pool"].acquire() as conn:
            reader = await access.reader(conn, settings, request.headers.get("authorization"))
            out = await _rows(conn, settings, ind, scope, filters, reader, params)
        if format == "csv":
            return _csv(ind, period, dims, out)
        return JSONResponse(_document(ind, period, dims, day, reader, settings.suppression_threshold, out))


def _checked(
    ind: Indicator, group_by: str, given: dict[str, str | None], from_: date | None, to: date | None
) -> tuple[list[str], dict[str, str]]:
    """The group_by dimensions and the given filters of a values request, or a 422 naming what is wrong."""
    dims = [d for d in group_by.split(",") if d]
    bad = [d for d in dims if d not in ind.dimensions]
    if bad or len(set(dims)) != len(dims):
        raise HTTPException(
            422, f"group_by: unknown or repeated dimension(s) {bad or dims}; allowed: {list(ind.dimensions)}"
        )
    assert set(given) == {name for name, d in DIMENSIONS.items() if d.filter}  # the catalogue's filters
    filters = {k: v for k, v in given.items() if v is not None}
    missing = [k for k in filters if k not in ind.dimensions]
    if missing:
        raise HTTPException(422, f"{ind.id} has no dimension(s) {missing}; dimensions: {list(ind.dimensions)}")
    if from_ is not None and to is not None and to <= from_:
        raise HTTPException(422, "to must be after from")
    return dims, filters


async def _rows(
    conn: db.Conn,
    settings: Settings,
    ind: Indicator,
    scope: Scope,
    filters: dict[str, str],
    reader: access.Reader | None,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """The rows a reader sees (public, exact, or exact inside its scope), exact reads put on the audit trail."""
    rows = await rowlib.exact_rows(conn, ind, scope)
    rows = await rowlib.add_targets(conn, ind, scope, rows, filters, settings.nulmeting)
    rows = await poplib.add_denominators(conn, ind.kind, ind.dimensions, rows, filters)
    threshold = settings.suppression_threshold
    out, exact_cells = scoped.rows_for(reader, ind, rows, filters, threshold, disclosure.noise_secret(settings))
    if reader is not None and exact_cells:
        await scoped.record(conn, reader, ind.id, params, exact_cells)
    out = [{**r, "version": ind.version} for r in out]
    codes = {r["dims"]["instelling"] for r in out if "instelling" in r["dims"]}
    if codes:  # instellingen by name where `jeugdstroom sender add --name` registered one
        out = completeness.with_instelling_names(out, await completeness.names(conn, codes))
    return out


def _document(
    ind: Indicator,
    period: str,
    dims: list[str],
    day: date,
    reader: access.Reader | None,
    threshold: int,
    out: list[dict[str, Any]],
) -> dict[str, Any]:
    """The JSON answer of a values request (:class:`IndicatorValues`)."""
    return {
        "indicator": ind.id,
        "version": ind.version,
        "unit": ind.unit,
        "kind": ind.kind,
        "period": period,
        "group_by": dims,
        "as_of": day.isoformat(),
        "exact": reader is not None and reader.operator,
        "scope": None if reader is None else reader.scope,
        "suppression_threshold": threshold,
        "rows": out,
    }


def _csv(ind: Indicator, period: str, dims: list[str], out: list[dict[str, Any]]) -> Response:
    """The rows as a CSV file for Excel with Dutch settings (docs/monitor.md)."""
    name = f"{ind.id}-{period}{'-' + '-'.join(dims) if dims else ''}.csv"
    return Response(
        export.rows_csv(ind.id, out, dims),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

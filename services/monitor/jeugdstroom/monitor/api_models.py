"""Response models of the monitor's JSON API (OpenAPI)."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


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

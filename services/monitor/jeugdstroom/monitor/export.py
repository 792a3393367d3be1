"""``format=csv`` of an indicator query: the public (or scoped) rows of the JSON answer, as a file Excel with Dutch
settings opens as columns and numbers — the same layout as the dashboard's "Download CSV" (README.md, Dashboard).

``;`` separates fields, numbers have a decimal comma, UTF-8 with a byte-order mark, CRLF line ends. A suppressed
cell has an empty ``waarde`` and ``onderdrukt=ja``: the CSV is written from the JSON answer's rows, so it suppresses
exactly what the JSON does. Columns: ``indicator, versie, periode, start``, the group_by dimensions, a ``<dim>_naam``
for gemeente and jeugdregio (and any other dimension whose rows carry a name), ``waarde, onderdrukt,
nulmeting_jaar, nulmeting, verschil, doel, doelstatus, per_1000``, then ``n, p90, teller, noemer`` where any row has
them (durations, waiting times, ratios). The page's script (dashboard/static/app.js ``csvText``) follows the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ALWAYS_NAMED = ("gemeente", "jeugdregio")
EXTRA = (("n", "n"), ("p90", "p90"), ("teller", "numerator"), ("noemer", "denominator"))
STATUS_NL = {"on_track": "op koers", "off_track": "niet op koers"}


def field(v: Any) -> str:
    """One CSV field: empty for None, a decimal comma for fractions, quoted when it holds ``;``, ``"`` or a line end."""
    if v is None:
        return ""
    if isinstance(v, bool):
        s = str(v).lower()
    elif isinstance(v, float):
        s = str(int(v)) if v.is_integer() else repr(v).replace(".", ",")
    else:
        s = str(v)
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ';"\n\r') else s


def columns(rows: Sequence[Mapping[str, Any]], group_by: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(dimensions, named dimensions, extra columns) of a CSV of ``rows``."""
    dims = list(group_by)
    for r in rows:
        for d in r.get("dims") or {}:
            if d not in dims:
                dims.append(d)
    named = [d for d in dims if d in ALWAYS_NAMED or any((r.get("names") or {}).get(d) for r in rows)]
    extra = [name for name, key in EXTRA if any(r.get(key) is not None for r in rows)]
    return dims, named, extra


def rows_csv(indicator: str, rows: Sequence[Mapping[str, Any]], group_by: Sequence[str] = ()) -> str:
    dims, named, extra = columns(rows, group_by)
    header = [
        "indicator", "versie", "periode", "start", *dims, *(f"{d}_naam" for d in named),
        "waarde", "onderdrukt", "nulmeting_jaar", "nulmeting", "verschil", "doel", "doelstatus", "per_1000", *extra,
    ]  # fmt: skip
    keys = dict(EXTRA)
    lines = [";".join(header)]
    for r in rows:
        d, names = r.get("dims") or {}, r.get("names") or {}
        suppressed = bool(r.get("suppressed"))
        values = [
            indicator, r.get("version"), r.get("period"), r.get("start"),
            *(d.get(k) for k in dims), *(names.get(k, "") for k in named),
            None if suppressed else r.get("value"), "ja" if suppressed else "nee",
            r.get("baseline_year"), r.get("baseline"), r.get("change"), r.get("target"),
            STATUS_NL.get(r.get("target_status") or "", ""), r.get("per_1000"),
            *(r.get(keys[k]) for k in extra),
        ]  # fmt: skip
        lines.append(";".join(field(v) for v in values))
    return "\ufeff" + "\r\n".join(lines) + "\r\n"

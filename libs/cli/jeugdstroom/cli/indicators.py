"""``jeugdstroom indicators [ID]``: the current headline table, or one indicator's rows, from a running monitor."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from jeugdstroom.common.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("indicator", nargs="?", help="an indicator id (default: the headline table of all)")
    parser.add_argument(
        "--period",
        choices=["day", "month", "half_year", "year"],
        help="period (default: year for the headline table, month for one indicator)",
    )
    parser.add_argument("--group-by", default="", help="one indicator: comma-separated dimensions (default: none)")
    parser.add_argument("--as-of", help="values as of this day (YYYY-MM-DD; default: today)")
    parser.add_argument("--url", help="monitor base URL (default: from settings)")
    parser.add_argument("--token", help="operator token for exact values")


def format_value(row: dict[str, Any], threshold: int) -> str:
    if row.get("suppressed"):
        return f"<{threshold}"
    value = row["value"]
    if "p90" in row:
        return f"{value} (p90 {row['p90']}, n {row['n']})"
    if "denominator" in row:
        return f"{value:.4f} ({row['numerator']}/{row['denominator']})"
    return str(value)


def _status(row: dict[str, Any]) -> str:
    status = row.get("target_status")
    return f"  [{status}, target {row.get('target')}]" if status else ""


def cmd_indicators(args: argparse.Namespace, settings: Settings) -> int:
    url = (args.url or f"http://{settings.host}:{settings.monitor_port}").rstrip("/")
    headers = {"authorization": f"Bearer {args.token}"} if args.token else {}
    params: dict[str, str] = {"as_of": args.as_of} if args.as_of else {}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            if args.indicator:
                return _one(client, args, {**params, "period": args.period or "month", "group_by": args.group_by})
            return _headline(client, {**params, "period": args.period or "year"})
    except httpx.HTTPError as exc:
        print(f"error: monitor not reachable at {url}: {type(exc).__name__}", file=sys.stderr)
        return 1


def _get(client: httpx.Client, path: str, params: dict[str, str]) -> Any:
    resp = client.get(path, params=params)
    if resp.status_code != 200:
        print(f"error: monitor answered {resp.status_code}: {resp.text}", file=sys.stderr)
        return None
    return resp.json()


def _one(client: httpx.Client, args: argparse.Namespace, params: dict[str, str]) -> int:
    body = _get(client, f"/v1/indicators/{args.indicator}", params)
    if body is None:
        return 1
    print(
        f"{body['indicator']} ({body['unit']}) per {body['period']}, as of {body['as_of']}"
        f" ({'exact' if body['exact'] else 'public, suppressed'})"
    )
    print(f"{'start':<12} {'dimensions':<60} value")
    for r in body["rows"]:
        dims = ", ".join(f"{k}={v}" for k, v in r["dims"].items()) or "-"
        print(f"{r['start']:<12} {dims:<60} {format_value(r, body['suppression_threshold'])}{_status(r)}")
    return 0


def _headline(client: httpx.Client, params: dict[str, str]) -> int:
    catalogue = _get(client, "/v1/indicators", {})
    if catalogue is None:
        return 1
    print(f"{'indicator':<26} {'unit':<13} {'period':<10} {'start':<12} value")
    as_of, exact = "-", False
    for ind in catalogue:
        body = _get(client, f"/v1/indicators/{ind['id']}", params)
        if body is None:
            return 1
        current = body["rows"][-1] if body["rows"] else None
        shown = format_value(current, body["suppression_threshold"]) if current else "0"
        start = current["start"] if current else "-"
        as_of, exact = body["as_of"], body["exact"]
        print(f"{ind['id']:<26} {ind['unit']:<13} {body['period']:<10} {start:<12} {shown}")
    print(f"as of {as_of}; {'exact' if exact else 'public, suppressed'}; details: jeugdstroom indicators ID")
    return 0

"""The registry's HTTP handlers: the findings API (operator and instelling reader tokens, audited)."""

from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Query

from jeugdstroom.common import access, audit
from jeugdstroom.common.settings import Settings
from jeugdstroom.registry import repository as repo


def add_routes(app: FastAPI, settings: Settings, state: dict[str, Any]) -> None:
    """``GET /v1/findings``; ``state["pool"]`` is the database pool, set by the lifespan."""

    @app.get(
        "/v1/findings",
        summary="Data-quality findings (operator token: all; instelling reader token: its own, without pseudonyms)",
        responses={
            401: {"description": "Missing, wrong, expired or revoked token"},
            403: {"description": "A reader token whose scope is not operator or an instelling"},
        },
    )
    async def findings(
        authorization: Annotated[str | None, Header()] = None,
        kind: Annotated[str | None, Query(pattern="^[a-z_]{1,64}$", description="Only this finding kind")] = None,
        status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    ) -> dict[str, Any]:
        async with state["pool"].acquire() as conn:
            reader = await access.reader(conn, settings, authorization)
            if reader is None:
                raise HTTPException(
                    401, "operator or instelling token required", headers={"WWW-Authenticate": "Bearer"}
                )
            scope_kind, _, instelling = reader.scope.partition(":")
            if not reader.operator and scope_kind != "instelling":
                raise HTTPException(403, f"scope {reader.scope} does not read findings")
            rows = await repo.open_findings(conn, kind, status, limit, instelling or None)
            if rows:  # a read of findings is an exact read: on the audit trail like the monitor's indicator reads
                params = {"kind": kind, "status": status, "limit": limit, "instelling": instelling or None}
                await audit.record(conn, reader, audit.FINDINGS, params, len(rows))
        if not reader.operator:  # an instelling reads what is wrong in its own data, not which child it is
            rows = [{k: v for k, v in r.items() if k != "pseudonym"} for r in rows]
        return {"status": status, "kind": kind, "scope": reader.scope, "findings": rows}

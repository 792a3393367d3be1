"""Error answers of every HTTP API as RFC 9457 problem details (``application/problem+json``), and the OpenAPI
declarations that go with them: one ``Problem`` schema for every 4xx/5xx answer and a bearer security scheme.

A problem has ``type``, ``title``, ``status`` and ``detail``; a validation problem adds ``errors``, a list of
``{field, reason}``. Neither ever holds a submitted value (a BSN must not come back in an error, nor land in a log
that records answers). ``install`` makes a FastAPI app answer every error in this shape: its own ``HTTPException``,
request validation, and "the database is not there" (503 with ``Retry-After``, never 500).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final, Literal

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from jeugdstroom.common import db

log = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"
#: Seconds a client is asked to wait after a 503 (the database or its connection pool is not available).
UNAVAILABLE_RETRY_AFTER: Final = 5
#: The problem types jeugdstroom uses besides ``about:blank`` (whose title is the HTTP status phrase).
TYPE_PREFIX: Final = "urn:jeugdstroom:problem:"
TYPES: Final[Mapping[str, str]] = {
    "validation": "The request or an event in it does not satisfy the contract",
    "forbidden-sender": "The event's sender is not the token's sender",
    "conflict": "This (sender, id) was accepted before with different content",
    "too-large": "The request is larger than the limit",
    "rate-limited": "The sender's rate limit is exhausted",
    "unavailable": "The service cannot reach its database; nothing was stored",
    "unauthorized": "Missing, invalid, expired or revoked bearer token",
}
BEARER: Final = "HTTPBearer"


class FieldProblem(BaseModel):
    """One reason a request is invalid: where (a dotted field path, or an element path for iJw) and which rule."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Dotted path of the field (iJw: the element path); never its value")
    reason: str = Field(description="The broken rule")


class Problem(BaseModel):
    """RFC 9457 problem details: the one shape of every error answer."""

    model_config = ConfigDict(extra="allow")

    type: str = Field("about:blank", description=f"A URI naming the kind of problem (``{TYPE_PREFIX}…`` or "
                                                 "``about:blank``: see the title)")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str | None = Field(None, description="What went wrong in this request (never a submitted value)")
    errors: list[FieldProblem] | None = Field(None, description="Validation problems: field and rule, no values")


def problem(status: int, detail: str | None = None, *, kind: str | None = None,
            errors: Sequence[Mapping[str, str]] | None = None, headers: Mapping[str, str] | None = None,
            **extra: Any) -> Response:
    """A ``application/problem+json`` answer. ``kind`` is one of :data:`TYPES` (default ``about:blank``)."""
    if kind is not None and kind not in TYPES:
        raise ValueError(f"unknown problem kind {kind!r}")
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind if kind else "about:blank",
        "title": TYPES[kind] if kind else _phrase(status),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = [{"field": e["field"], "reason": e["reason"]} for e in errors]
    body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


_KIND_BY_STATUS: Final[Mapping[int, str]] = {401: "unauthorized", 413: "too-large", 429: "rate-limited",
                                              503: "unavailable"}


class ProblemError(Exception):
    """Raise to answer with a problem (any route of an app with :func:`install`)."""

    def __init__(self, status: int, detail: str | None = None, *, kind: str | None = None,
                 errors: Sequence[Mapping[str, str]] | None = None, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail or _phrase(status))
        self.status, self.detail, self.kind, self.errors = status, detail, kind, errors
        self.headers, self.extra = headers, extra

    def response(self) -> Response:
        return problem(self.status, self.detail, kind=self.kind, errors=self.errors, headers=self.headers,
                       **self.extra)


def unavailable(detail: str = "the database is not available; nothing was stored, retry later") -> ProblemError:
    return ProblemError(503, detail, kind="unavailable", headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)})


def install(app: FastAPI, auth: Literal["required", "optional"] | None = None,
            extra_responses: Mapping[int, str] | None = None, schemas: Mapping[str, Any] | None = None) -> None:
    """Answer every error of ``app`` as problem details and declare it in the app's OpenAPI.

    ``auth`` declares the bearer scheme on every ``/v1/`` operation: required, or optional (the operation answers
    without a token too, with less); an ``authorization`` header parameter is then left out of the document
    (Swagger UI's "Authorize" sends it). ``extra_responses`` are statuses every ``/v1/`` operation may answer
    (503 always is: the database may be down); ``schemas`` are added to ``components.schemas``."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers or {})
        if isinstance(exc.detail, list):
            return problem(exc.status_code, None, kind="validation", errors=exc.detail, headers=headers)
        kind = _KIND_BY_STATUS.get(exc.status_code)
        return problem(exc.status_code, str(exc.detail) if exc.detail is not None else None, kind=kind,
                       headers=headers)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        # The field and the rule only: pydantic's message names the rule, ``input`` is left out.
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        return problem(422, "the request does not satisfy the API contract", kind="validation", errors=errors)

    async def problem_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return exc.response()

    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("%s %s: database not available (%s): answering 503", request.method, request.url.path,
                    type(exc).__name__)
        return unavailable().response()

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ProblemError, problem_error)
    for error in db.TRANSIENT_ERRORS:
        if issubclass(error, Exception):
            app.add_exception_handler(error, database_down)

    statuses = {503: "The database is not available: nothing was stored; retry after `Retry-After` seconds",
                **(extra_responses or {})}
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(schemas or {})
        document(schema, auth, statuses)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and ``FieldProblem`` as OpenAPI component schemas."""
    doc = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = doc.pop("$defs", {})
    return {"Problem": doc, **defs}


def problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document(schema: dict[str, Any], auth: Literal["required", "optional"] | None,
             statuses: Mapping[int, str]) -> None:
    """Rewrite an OpenAPI document in place: every 4xx/5xx answer of a ``/v1/`` operation is a ``Problem``, the
    statuses in ``statuses`` are declared on each, and the bearer scheme is declared (per ``auth``)."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(problem_schemas())
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if auth is not None:
        components.setdefault("securitySchemes", {})[BEARER] = {
            "type": "http", "scheme": "bearer",
            "description": "`Authorization: Bearer <token>` (sender, operator or reader token)"}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            responses = op.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(str(status), {"description": description})
            for status, answer in responses.items():
                if status[:1] in ("4", "5"):
                    answer["content"] = problem_content()
                    if status == "422" and answer.get("description") == "Validation Error":
                        answer["description"] = "Invalid request: the field and the rule of each problem"
            if auth is not None:
                params = [p for p in op.get("parameters", [])
                          if not (p.get("in") == "header" and p.get("name", "").lower() == "authorization")]
                if params:
                    op["parameters"] = params
                else:
                    op.pop("parameters", None)
                op["security"] = [{BEARER: []}] if auth == "required" else [{BEARER: []}, {}]
                if auth == "required":
                    responses.setdefault("401", {"description": "Missing or invalid token",
                                                 "content": problem_content()})


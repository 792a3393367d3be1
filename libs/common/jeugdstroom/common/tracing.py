"""OpenTelemetry tracing: spans for intake's accept, the outbox relay's publish, the registry's batch and the
monitor's fold and publication, with W3C trace context (``traceparent``/``tracestate``) carried in Kafka record
headers from intake through ``registry.changes`` to the indicator topic.

Off by default. :func:`configure` installs the SDK with an OTLP/HTTP exporter only when the standard environment
asks for it: ``OTEL_TRACES_EXPORTER=otlp`` (or ``console``), or an ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``; ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keep it off.
The exporter reads the rest of ``OTEL_EXPORTER_OTLP_*`` (headers, timeout, …) itself; the sampler follows
``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG``; ``OTEL_SERVICE_NAME`` overrides ``jeugdstroom-<service>``.
The SDK and exporter come with the ``tracing`` extra (``pip install 'jeugdstroom[tracing]'``).

While off, every helper here returns at once: no span objects, no headers, no links (the cost is one boolean
test per batch or request).

How one event is followed: the consumers and the relay handle batches, so their spans are not children of one
event's span but carry *links* to the context each record was created in (OpenTelemetry's messaging conventions
for batches). A record that a span writes carries that span's context:

* ``intake.accept`` (child of the HTTP request's ``traceparent``, when it sends one) → the typed-topic records;
* ``outbox.publish`` links to the context of every row it publishes (records keep their creation context);
* ``registry.batch`` links to its input records → the ``registry.changes``/``registry.entities`` records;
* ``monitor.fold`` links to its change records → its pending cells (``monitor.publish_pending.traceparent``);
* ``monitor.publish`` links to the folds of the cells it publishes → the indicator-topic records.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_W3C = TraceContextTextMapPropagator()
_state = {"enabled": False}
#: A proxy until a provider is installed; it then delegates to that provider.
_TRACER = trace.get_tracer("jeugdstroom")

__all__ = [
    "TRACEPARENT",
    "ContextMiddleware",
    "SpanKind",
    "configure",
    "enabled",
    "headers",
    "install",
    "links",
    "span",
    "traceparent",
]


def enabled() -> bool:
    """True when spans are recorded and exported (:func:`configure` or :func:`install` ran)."""
    return _state["enabled"]


def wanted(env: Mapping[str, str]) -> bool:
    """Whether the standard ``OTEL_*`` environment asks for traces to be exported."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return bool(exporter) or bool(endpoint)


def configure(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Install the SDK tracer provider with the exporter ``OTEL_*`` names, when it asks for one; returns whether
    tracing is on. A second call (several services in one process) keeps the first provider."""
    env = os.environ if env is None else env
    if enabled() or not wanted(env):
        return enabled()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        log.warning("OTEL_* asks for traces but opentelemetry-sdk is missing: install jeugdstroom[tracing]")
        return False
    names = [n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",") if n.strip()]
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # endpoint, headers, timeout, … from OTEL_EXPORTER_OTLP_*
        else:
            raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported here (otlp, console or none)")
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": f"jeugdstroom-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    install(provider)
    log.info("tracing on: exporting spans to %s", ", ".join(names))
    return True


def install(provider: trace.TracerProvider) -> None:
    """Record spans with ``provider`` (tests: an SDK provider with an in-memory exporter)."""
    trace.set_tracer_provider(provider)
    _state["enabled"] = True


def uninstall() -> None:
    """Stop recording (the global provider stays set; the helpers return at once again)."""
    _state["enabled"] = False


def _context(carrier: Mapping[str, str]) -> otel_context.Context:
    return _W3C.extract(carrier)


def _carrier(pairs: Iterable[tuple[str, bytes]]) -> dict[str, str]:
    return {k: v.decode("latin-1") for k, v in pairs if k in (TRACEPARENT, TRACESTATE)}


def headers() -> list[tuple[str, bytes]]:
    """The current span's W3C trace context as Kafka record headers (none while tracing is off)."""
    if not enabled():
        return []
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return [(k, v.encode("latin-1")) for k, v in carrier.items()]


def traceparent() -> str | None:
    """The current span's ``traceparent`` (None while tracing is off or outside a span)."""
    if not enabled():
        return None
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get(TRACEPARENT)


def links(carriers: Iterable[Iterable[tuple[str, bytes]]]) -> list[Link]:
    """One link per distinct span context found in record headers (none while tracing is off)."""
    if not enabled():
        return []
    return links_of(_carrier(h) for h in carriers)


def links_of(carriers: Iterable[Mapping[str, str]]) -> list[Link]:
    """One link per distinct valid span context among W3C carriers (``{"traceparent": …}``)."""
    if not enabled():
        return []
    seen: dict[tuple[int, int], Link] = {}
    for carrier in carriers:
        if TRACEPARENT not in carrier:
            continue
        ctx = trace.get_current_span(_context(carrier)).get_span_context()
        if ctx.is_valid and (ctx.trace_id, ctx.span_id) not in seen:
            seen[(ctx.trace_id, ctx.span_id)] = Link(ctx)
    return list(seen.values())


@contextmanager
def span(
    name: str,
    kind: SpanKind = SpanKind.INTERNAL,
    links: Iterable[Link] = (),
    parent: Mapping[str, str] | None = None,
    attributes: Mapping[str, str | int] | None = None,
) -> Iterator[None]:
    """A span around the block (current while it runs); nothing while tracing is off. ``parent``: a W3C carrier
    (e.g. an HTTP request's headers) whose context is the span's parent."""
    if not enabled():
        yield
        return
    ctx = _context(parent) if parent is not None else None
    with _TRACER.start_as_current_span(name, context=ctx, kind=kind, links=list(links), attributes=attributes):
        yield


class ContextMiddleware:
    """ASGI middleware: an HTTP request's W3C ``traceparent``/``tracestate`` become the current context while it is
    handled, so that a span it starts (``intake.accept``) continues the caller's trace. Passes through while tracing
    is off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not enabled() or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers", ())
            if k in (b"traceparent", b"tracestate")
        }
        if TRACEPARENT not in carrier:
            await self.app(scope, receive, send)
            return
        token = otel_context.attach(_context(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)

"""Tracing end to end (common/tracing.py): one event's trace followed from intake's accept through the relay, the
registry's batch and the monitor's fold and publication, by the W3C context in the Kafka headers and the spans'
links, with an in-memory exporter. intake, registry and monitor run in process (as test_ijw_indicators does)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jeugdstroom.common import tracing
from jeugdstroom.common.kafka import INDICATORS, REGISTRY_CHANGES
from jeugdstroom.intake.app import create_app as intake_app
from jeugdstroom.monitor.app import create_app as monitor_app
from jeugdstroom.registry.app import create_app as registry_app
from tests.conftest import Infra, fresh_settings
from tests.factories import separatie
from tests.support import read_topic, register_sender, running_app, wait_until

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def recorded() -> Iterator[InMemorySpanExporter]:
    """Spans recorded into memory while the block runs (the process's SDK provider, installed once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        tracing.install(provider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()
        processor.shutdown()


def _traceparent(headers: Sequence[tuple[str, bytes]]) -> tuple[int, int]:
    """(trace id, span id) of a record's traceparent header."""
    return _ids_of(dict(headers)[tracing.TRACEPARENT].decode())


#: The W3C context of the HTTP client that submits the event: intake.accept continues its trace.
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _ids_of(traceparent: str) -> tuple[int, int]:
    _version, trace_id, span_id, _flags = traceparent.split("-")
    return int(trace_id, 16), int(span_id, 16)


def _ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id


def _linking(spans: Sequence[ReadableSpan], name: str, target: tuple[int, int]) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name and any((ln.context.trace_id, ln.context.span_id) == target
                                                       for ln in s.links)]


async def test_one_events_trace_is_followed_from_accept_to_the_indicator_topic(infra: Infra) -> None:
    # the publication as a task in this process, so that the in-memory exporter records its spans (by default it runs
    # in a child process of its own: publication/child.py)
    settings = (await fresh_settings(infra)).model_copy(update={"monitor_publisher": "task"})
    token = await register_sender(settings, "12345678")
    with recorded() as exporter:
        async with contextlib.AsyncExitStack() as stack:
            intake = await stack.enter_async_context(running_app(intake_app(settings, inbox=False)))
            await stack.enter_async_context(running_app(registry_app(settings)))
            await stack.enter_async_context(running_app(monitor_app(settings)))
            resp = await intake.post("/v1/events", json=separatie("e1", "s1", seed=5),
                                     headers={"authorization": f"Bearer {token}", "traceparent": CALLER})
            assert resp.status_code == 202, resp.text
            typed = await wait_until(lambda: read_topic(settings, "separatie", 1.0), 30, what="typed record")
            changes = await wait_until(lambda: read_topic(settings, REGISTRY_CHANGES, 1.0), 30, what="change")
            indicators = await wait_until(lambda: read_topic(settings, INDICATORS, 1.0), 60, what="indicator rows")
            row_context = _traceparent(indicators[0].headers)
        spans = exporter.get_finished_spans()

    # intake: the accept span's context is on the typed record
    (accept,) = [s for s in spans if s.name == "intake.accept"]
    assert accept.parent is not None and (accept.parent.trace_id, accept.parent.span_id) == _ids_of(CALLER)
    assert _traceparent(typed[0].headers) == _ids(accept)
    assert accept.attributes is not None and accept.attributes["jeugdstroom.events"] == 1
    # the intake relay's publish links to it
    assert _linking(spans, "outbox.publish", _ids(accept))
    # registry: its batch links to the typed record; every change record carries the batch's context
    (batch,) = _linking(spans, "registry.batch", _ids(accept))
    assert {_traceparent(c.headers) for c in changes} == {_ids(batch)}
    assert _linking(spans, "outbox.publish", _ids(batch))
    # monitor: the fold links to the change records; the publication links to the fold; the indicator rows carry
    # the publication's context (the publication sends them itself: no relay span of its own)
    (fold,) = _linking(spans, "monitor.fold", _ids(batch))
    publications = _linking(spans, "monitor.publish", _ids(fold))
    assert publications
    published = {_ids(p) for p in publications}
    assert {_traceparent(r.headers) for r in indicators} <= published
    assert row_context in published and not _linking(spans, "outbox.publish", row_context)
    # the caller's trace (with the accept), the batch's, the fold's and each publication's, joined by links
    assert _ids(accept)[0] == _ids_of(CALLER)[0]
    assert len({_ids(s)[0] for s in (accept, batch, fold, *publications)}) == 3 + len(publications)

"""common/tracing.py without an exporter: off by default, standard OTEL_* switches, nothing recorded while off
(the end-to-end trace: tests/integration/test_tracing.py)."""

from __future__ import annotations

from opentelemetry import trace

from jeugdstroom.common import tracing


def test_tracing_is_off_unless_the_otel_environment_names_an_exporter() -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.enabled()
    assert tracing.headers() == [] and tracing.traceparent() is None
    with tracing.span("anything"):
        assert trace.get_current_span().get_span_context().is_valid is False

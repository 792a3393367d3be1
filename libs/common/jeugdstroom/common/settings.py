"""Settings of every jeugdstroom process, from the environment (prefix ``JEUGDSTROOM_``).

The defaults point at the embedded infrastructure that ``jeugdstroom up`` starts.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NulmetingSetting(BaseModel):
    """A configured nulmeting of one instelling or jeugdregio: its baseline ``year`` for every indicator, and
    optionally baseline values that replace the computed ones (``value``: of ``separaties``, the original form;
    ``values``: per indicator id)."""

    year: int = Field(ge=2000, le=2100)
    value: int | None = None
    values: dict[str, float] = Field(default_factory=dict)

    def value_of(self, indicator: str) -> float | None:
        if indicator in self.values:
            return self.values[indicator]
        return self.value if indicator == "separaties" else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JEUGDSTROOM_", extra="ignore")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma-separated")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How every Kafka client connects (deploy/README.md, Kafka security)"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (SASL_PLAINTEXT, SASL_SSL)"
    )
    kafka_username: str | None = Field(None, description="SASL user name")
    kafka_password: SecretStr | None = Field(None, description="SASL password")
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle (PEM) to verify the brokers (SSL, SASL_SSL)")
    kafka_ssl_certfile: str | None = Field(None, description="Client certificate (PEM) for mutual TLS")
    kafka_ssl_keyfile: str | None = Field(None, description="Client key (PEM) for mutual TLS")
    inbox_principals: dict[str, str] = Field(
        default_factory=dict,
        description="intake, with an authenticating broker: Kafka principal → sender code (JSON, e.g."
        ' {"User:ggz-oost": "12345678"}); each sender writes its own inbox topic <prefix>.inbox.<code>, which only'
        " that principal may write (deploy/README.md, Kafka inbox)",
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/jeugdstroom", description="PostgreSQL connection URL"
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="Secret key of the BSN pseudonym (HMAC-SHA256); required by intake"
    )
    topic_prefix: str = Field("jeugdstroom", description="Prefix of every topic name")
    partitions: int = Field(3, ge=1, description="Partitions of each topic that jeugdstroom creates")
    host: str = Field("127.0.0.1", description="Address the HTTP servers listen on")
    intake_port: int = 8001
    registry_port: int = 8002
    monitor_port: int = 8003
    operator_token: SecretStr | None = Field(None, description="Bearer token that sees unsuppressed values")
    suppression_threshold: int = Field(10, ge=0, description="Public cells below this are suppressed")
    disclosure_key: SecretStr | None = Field(
        None,
        description="Secret of the public output's keyed noise (docs/privacy.md); default: derived from the pseudonym"
        " key, else the operator token. Keep it stable: a new key gives every cell a new noise",
    )
    audit_retention_days: int = Field(
        400, ge=1, description="Days the monitor keeps its audit trail of exact reads (docs/privacy.md)"
    )
    nulmeting: dict[str, NulmetingSetting] = Field(
        default_factory=dict,
        description="Nulmeting (baseline year) per instelling (8-digit code or GM code) or jeugdregio (CBS code, e.g."
        ' JZ32), JSON {"12345678": {"year": 2024, "value": 40}, "JZ32": {"year": 2022, "values":'
        ' {"wachtlijst_pleegzorg": 22}}}; `value` is the separaties nulmeting, `values` per indicator. Defaults: the'
        " catalogue's year per jeugdregio (JZ32: 2022), for separaties the instelling's first full calendar year",
    )
    batch_max_records: int = Field(2000, ge=1, description="Max records per consumer batch")
    batch_max_wait_ms: int = Field(100, ge=1, description="Max wait for a consumer batch to fill")
    outbox_batch: int = Field(2000, ge=1, description="Max outbox rows per relay publish")
    kafka_fetch_max_wait_ms: int = Field(
        50,
        ge=1,
        description="Longest a consumer's fetch waits at the broker for new records (the embedded Tansu broker does"
        " not answer a waiting fetch when records arrive, so this bounds the latency of every hop)",
    )
    kafka_session_timeout_ms: int = Field(
        6000, ge=1000, description="Consumer-group session timeout (short: a crashed member is replaced quickly)"
    )
    kafka_heartbeat_interval_ms: int = Field(1000, ge=100, description="Consumer-group heartbeat interval")
    watermark_grace_days: int = Field(
        7, ge=0, description="registry: days the watermark (latest event day seen) lags behind, for late events"
    )
    ijw_xsd_dir: str | None = Field(
        None,
        description="intake: folder with the official iJw 3.2 XSDs (JW301/305/307/315 and basisschema) to validate"
        " iJw messages against, besides the structural check; needs the xmlschema package (extra ijw-xsd)",
    )
    regions_file: str | None = Field(
        None,
        description="CSV of a newer gemeente indeling (layout of jeugdstroom/common/data/gemeenten.csv), replacing"
        " the shipped one without a release (read by jeugdstroom.common.geography; docs/geography.md)",
    )
    herindelingen_file: str | None = Field(
        None,
        description="CSV of herindelingen added to the shipped list (layout of data/herindelingen.csv; docs/geography.md)",
    )
    verlengde_pleegzorg_tot: int = Field(
        21,
        ge=21,
        le=23,
        description="monitor: verlengde pleegzorg (and gezinshuis 18+) counts young adults from the 18th birthday up"
        " to (not including) this birthday (Actieprogramma: 21 by default, 'zo nodig tot het 22e of 23e')",
    )
    continuering_dagen: int = Field(
        30,
        ge=1,
        le=365,
        description="registry: continuering_18 — a child in pleegzorg on its 18th birthday continues when it is"
        " still in pleegzorg this many days after the birthday",
    )
    rate_limit_per_sender: float = Field(
        0.0,
        ge=0,
        description="intake: events per second each sender may submit on average (a token bucket per sender; 429"
        " with Retry-After beyond it); 0 switches the limit off",
    )
    rate_limit_burst: int = Field(
        10000, ge=1, description="intake: events a sender may submit at once before its rate limit applies"
    )
    monitor_publisher: Literal["process", "task"] = Field(
        "process",
        description="monitor: where the indicator-topic publication runs: a child process of its own, lowered in"
        " priority, so that the fold and the JSON API do not wait behind it (docs/monitor.md); or a task in the"
        " monitor's event loop",
    )
    monitor_publishers: int = Field(
        2,
        ge=1,
        le=16,
        description="monitor: publication processes (with monitor_publisher=process); they share the pending"
        " indicator × period pairs, so a large publication (after a replay) uses more than one core",
    )
    log_level: str = "INFO"
    # Bounded storage (common/retention.py; README "Guarantees", docs/privacy.md "Storage limitation").
    dedupe_retention_days: int = Field(
        180,
        ge=1,
        description="Days sent outbox rows and processed-event ids are kept; must exceed the longest Kafka retention"
        " of a topic the services read (90 days in docker-compose) and the `replay --since` reach",
    )
    fact_retention_days: int | None = Field(
        None,
        ge=1,
        description="AVG storage limitation: days after a child's last accepted event (or correctie) that the"
        " registry forgets the child's facts and entities and intake its idempotency records; none: keep",
    )
    member_retention_days: int | None = Field(
        None,
        ge=1,
        description="AVG storage limitation: the monitor replaces the pseudonyms of distinct-count members of every"
        " calendar year that ended more than this many days ago by unlinkable tokens (counts stay exact); none: keep",
    )
    retention_interval_s: float = Field(600.0, gt=0, description="Seconds between the retention task's runs")
    retention_batch: int = Field(1000, ge=1, description="Rows (children, for registry facts) per retention transaction")

    @cached_property
    def pseudonym_key_bytes(self) -> bytes:
        if self.pseudonym_key is None or not self.pseudonym_key.get_secret_value():
            raise RuntimeError("JEUGDSTROOM_PSEUDONYM_KEY is not set: intake cannot pseudonymise BSNs without it")
        return self.pseudonym_key.get_secret_value().encode()

    def topic(self, name: str) -> str:
        """Full topic name, e.g. ``topic("separatie")`` → ``jeugdstroom.separatie``."""
        return f"{self.topic_prefix}.{name}"

    def kafka_group(self, name: str) -> str:
        """The Kafka consumer-group id of a consumer: scoped by the topic prefix, so two deployments (or two
        test runs) on one broker never share a group. PostgreSQL keys stored offsets by ``name`` alone."""
        return f"{self.topic_prefix}.{name}"

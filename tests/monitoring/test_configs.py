"""Per-kind config schemas: what is accepted, and bad input refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.core.errors import CareLineError
from careline.monitoring.configs import (
    CONFIG_SCHEMAS,
    SECRET_FIELDS,
    HeartbeatConfig,
    HttpConfig,
    parse_config,
    parse_json_path,
    redacted,
)


def refused(kind: str, raw: Any) -> CareLineError:
    with pytest.raises(CareLineError) as info:
        parse_config(kind, raw)
    assert info.value.status == 422
    return info.value


def test_every_kind_has_a_schema() -> None:
    assert set(CONFIG_SCHEMAS) == {
        "http",
        "tcp",
        "dns",
        "tls",
        "postgres",
        "mysql",
        "hl7",
        "dicom",
        "fhir",
        "heartbeat",
    }
    assert set(SECRET_FIELDS) <= set(CONFIG_SCHEMAS)


def test_unknown_kind_names_the_kind_field() -> None:
    error = refused("smtp", {"host": "mail"})
    assert error.field == "kind"
    assert "unknown monitor kind 'smtp'" in error.message


def test_config_that_is_not_an_object_is_refused() -> None:
    assert refused("tcp", ["host", 80]).field == "config"


@pytest.mark.parametrize(
    ("kind", "raw", "field", "message"),
    [
        ("http", {}, "config.url", "url is required"),
        (
            "http",
            {"url": "ftp://files.example.org/"},
            "config.url",
            "url must start with http:// or https://",
        ),
        ("http", {"url": "https://"}, "config.url", "url has no host name"),
        (
            "http",
            {"url": "https://nurse:secret@ehr.example.org/"},
            "config.url",
            "url must not carry a user name or password",
        ),
        ("http", {"url": "https://ehr.example.org:99999/"}, "config.url", "url is not a valid URL"),
        (
            "http",
            {"url": "https://ehr.example.org/", "method": "FETCH"},
            "config.method",
            "method must be one of GET",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "expect_status": 99},
            "config.expect_status",
            "expect_status must be between 100 and 599 (got 99)",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "expect_status": [200, 700]},
            "config.expect_status",
            "(got 700)",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "expect_status": []},
            "config.expect_status",
            "at least one status code",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "regex": "(unclosed"},
            "config.regex",
            "regex is not a valid regular expression",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "json_path": "items[x]"},
            "config.json_path",
            "is not a dotted path",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "json_path": "a..b"},
            "config.json_path",
            "is not a dotted path",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "json_expect": "ok"},
            "config.json_path",
            "json_path is required when json_expect is set",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "max_latency_ms": 0},
            "config.max_latency_ms",
            "between 1 and 600000",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "headers": {"Bad Header": "x"}},
            "config.headers",
            "not a valid header name",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "headers": {"X-Token": "a\r\nInjected: 1"}},
            "config.headers",
            "line break",
        ),
        (
            "http",
            {"url": "https://ehr.example.org/", "timeout": 5},
            "config.timeout",
            "timeout is not a setting of this monitor kind",
        ),
        (
            "tcp",
            {"host": "pacs", "port": 0},
            "config.port",
            "port must be between 1 and 65535 (got 0)",
        ),
        (
            "tcp",
            {"host": "pacs", "port": 70000},
            "config.port",
            "port must be between 1 and 65535 (got 70000)",
        ),
        (
            "tcp",
            {"host": "pacs", "port": "http"},
            "config.port",
            "port: Input should be a valid integer",
        ),
        ("tcp", {"port": 22}, "config.host", "host is required"),
        ("tcp", {"host": "", "port": 22}, "config.host", "host is required"),
        (
            "tcp",
            {"host": "pacs server", "port": 22},
            "config.host",
            "host must be a host name or IP address",
        ),
        (
            "dns",
            {"name": "ehr.example.org", "record_type": "AXFR"},
            "config.record_type",
            "record_type must be one of A, AAAA",
        ),
        ("dns", {"name": "ehr..example.org"}, "config.name", "name is not a valid DNS name"),
        (
            "dns",
            {"name": "ehr.example.org", "server": "ns1.example.org"},
            "config.server",
            "server must be an IP address",
        ),
        (
            "dns",
            {"name": "ehr.example.org", "server": "10.0.0.53", "port": 0},
            "config.port",
            "port must be between 1 and 65535",
        ),
        (
            "tls",
            {"host": "ehr.example.org", "warn_days": -1},
            "config.warn_days",
            "warn_days must be between 0 and 365",
        ),
        ("tls", {"host": "ehr.example.org", "port": 70000}, "config.port", "(got 70000)"),
        (
            "postgres",
            {"dsn": "mysql://app@db/ehr"},
            "config.dsn",
            "dsn must be a URL like postgresql://",
        ),
        (
            "postgres",
            {"dsn": "host=db user=app password=x"},
            "config.dsn",
            "dsn must be a URL like postgresql://",
        ),
        ("postgres", {}, "config.dsn", "dsn is required"),
        (
            "postgres",
            {"dsn": "postgresql://app@db/ehr", "query": "  "},
            "config.query",
            "query is required",
        ),
        (
            "mysql",
            {"dsn": "postgresql://app@db/ehr"},
            "config.dsn",
            "dsn must be a URL like mysql://",
        ),
        ("mysql", {"dsn": "mysql:///nohost"}, "config.dsn", "dsn has no host"),
        (
            "hl7",
            {"host": "lis", "port": 2575, "message": "PID|1||123"},
            "config.message",
            "starting with an MSH segment",
        ),
        ("hl7", {"host": "lis", "port": 0}, "config.port", "port must be between"),
        ("dicom", {"host": "pacs", "port": 104}, "config.called_ae", "called_ae is required"),
        (
            "dicom",
            {"host": "pacs", "port": 104, "called_ae": "A_VERY_LONG_AE_TITLE"},
            "config.called_ae",
            "1 to 16 printable ASCII",
        ),
        (
            "dicom",
            {"host": "pacs", "port": 104, "called_ae": "PACS", "calling_ae": "BAD\\AE"},
            "config.calling_ae",
            "without a backslash",
        ),
        (
            "dicom",
            {"host": "pacs", "port": 104, "called_ae": "   "},
            "config.called_ae",
            "1 to 16 printable ASCII",
        ),
        (
            "fhir",
            {"base_url": "fhir.example.org/r4"},
            "config.base_url",
            "base_url must start with http:// or https://",
        ),
        ("heartbeat", {}, "config.period_s", "period_s or cron is required"),
        (
            "heartbeat",
            {"period_s": 3600, "cron": "0 2 * * *"},
            "config.cron",
            "give period_s or cron, not both",
        ),
        (
            "heartbeat",
            {"cron": "0 25 * * *"},
            "config.cron",
            "cron is not a five-field cron expression",
        ),
        (
            "heartbeat",
            {"cron": "every night"},
            "config.cron",
            "cron is not a five-field cron expression",
        ),
        (
            "heartbeat",
            {"cron": "0 2 * * *", "tz": "Europe/Atlantis"},
            "config.tz",
            "tz is not a known time zone",
        ),
        (
            "heartbeat",
            {"cron": "0 2 * * *", "tz": "../../etc/passwd"},
            "config.tz",
            "tz is not a known time zone",
        ),
        (
            "heartbeat",
            {"period_s": 5},
            "config.period_s",
            "period_s must be between 10 and 2678400",
        ),
        (
            "heartbeat",
            {"period_s": 3600, "grace_s": -1},
            "config.grace_s",
            "grace_s must be between 0 and 604800",
        ),
    ],
)
def test_invalid_config_names_the_field(
    kind: str, raw: dict[str, Any], field: str, message: str
) -> None:
    error = refused(kind, raw)
    assert error.field == field
    assert message in error.message


def test_valid_configs_get_their_defaults() -> None:
    http = parse_config("http", {"url": "https://ehr.example.org/health"})
    assert isinstance(http, HttpConfig)
    assert (http.method, http.expect_status, http.verify_tls) == ("GET", 200, True)
    tls = parse_config("tls", {"host": "ehr.example.org"})
    assert tls.model_dump() == {"host": "ehr.example.org", "port": 443, "warn_days": 21}
    dns = parse_config(
        "dns", {"name": "ehr.example.org", "record_type": "aaaa", "server": "10.0.0.53"}
    )
    assert dns.model_dump()["record_type"] == "AAAA"
    assert dns.model_dump()["port"] == 53
    dicom = parse_config("dicom", {"host": "pacs", "port": 104, "called_ae": "PACS"})
    assert dicom.model_dump()["calling_ae"] == "CARELINE"
    fhir = parse_config("fhir", {"base_url": "https://fhir.example.org/r4/"})
    assert fhir.model_dump()["base_url"] == "https://fhir.example.org/r4"
    hl7 = parse_config(
        "hl7",
        {
            "host": "lis",
            "port": 2575,
            "message": "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.5\nPID|1||123",
        },
    )
    assert hl7.model_dump()["message"] == "MSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.5\rPID|1||123"
    beat = parse_config("heartbeat", {"cron": "0 2 * * *", "tz": "America/New_York"})
    assert beat.model_dump() == {
        "period_s": None,
        "cron": "0 2 * * *",
        "tz": "America/New_York",
        "grace_s": 300,
    }


def test_json_path_syntax() -> None:
    assert parse_json_path("status") == ["status"]
    assert parse_json_path("$.checks.db.ok") == ["checks", "db", "ok"]
    assert parse_json_path("items[0].state") == ["items", 0, "state"]
    assert parse_json_path("matrix[1][2]") == ["matrix", 1, 2]
    with pytest.raises(ValueError, match="not a dotted path"):
        parse_json_path("items[-1]")


def test_redacted_hides_credentials_but_keeps_where_the_target_is() -> None:
    pg = parse_config(
        "postgres",
        {
            "dsn": "postgresql://ehr_monitor:S3cret!@db1.hospital.local:5432/ehr?sslmode=require&password=again",
            "expect": "1",
        },
    )
    shown = redacted("postgres", pg)
    assert shown["dsn"] == "postgresql://ehr_monitor:********@db1.hospital.local:5432/ehr"
    assert "S3cret" not in str(shown)
    assert "again" not in str(shown)
    assert shown["expect"] == "1"
    my = parse_config("mysql", {"dsn": "mysql://root@127.0.0.1/test"})
    assert redacted("mysql", my)["dsn"] == "mysql://root@127.0.0.1/test"
    http = parse_config(
        "http",
        {
            "url": "https://ehr.example.org/health",
            "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
        },
    )
    shown = redacted("http", http)
    assert shown["headers"] == {"Authorization": "********", "Accept": "********"}
    assert shown["url"] == "https://ehr.example.org/health"
    assert redacted("tcp", parse_config("tcp", {"host": "pacs", "port": 104})) == {
        "host": "pacs",
        "port": 104,
    }


def test_heartbeat_next_expected_follows_period_or_cron_in_its_time_zone() -> None:
    every_hour = parse_config("heartbeat", {"period_s": 3600})
    assert isinstance(every_hour, HeartbeatConfig)
    seen = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
    assert every_hour.next_expected(seen) == datetime(2026, 1, 7, 13, 0, tzinfo=UTC)
    nightly = parse_config("heartbeat", {"cron": "0 2 * * *", "tz": "America/New_York"})
    assert isinstance(nightly, HeartbeatConfig)
    # 02:00 in New York is 07:00 UTC in winter.
    assert nightly.next_expected(seen) == datetime(2026, 1, 8, 7, 0, tzinfo=UTC)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    kind=st.sampled_from(sorted(CONFIG_SCHEMAS)),
    raw=st.dictionaries(
        st.sampled_from(
            [
                "url",
                "method",
                "headers",
                "expect_status",
                "regex",
                "json_path",
                "host",
                "port",
                "name",
                "record_type",
                "server",
                "warn_days",
                "dsn",
                "query",
                "message",
                "called_ae",
                "base_url",
                "period_s",
                "cron",
                "tz",
                "grace_s",
                "other",
            ]
        ),
        JSON_VALUES,
        max_size=6,
    ),
)
@settings(max_examples=300, deadline=None)
def test_any_json_config_is_either_accepted_or_refused_naming_a_config_field(
    kind: str, raw: dict[str, Any]
) -> None:
    """Whatever JSON arrives, parse_config answers with a config or a 422 naming config.<key>;
    never another exception (which the API would turn into a 500)."""
    refusal: CareLineError | None = None
    try:
        config = parse_config(kind, raw)
    except CareLineError as error:
        refusal = error
    if refusal is None:
        assert isinstance(config, CONFIG_SCHEMAS[kind])
        assert isinstance(redacted(kind, config), dict)
        return
    assert refusal.status == 422
    assert refusal.field is not None
    key = refusal.field.removeprefix("config.")
    assert refusal.field == "config" or key in {*raw, *CONFIG_SCHEMAS[kind].model_fields}
    assert refusal.message

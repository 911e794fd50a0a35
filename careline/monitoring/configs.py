"""What each monitor kind needs to know: one schema per kind, validated before anything is stored.

`parse_config(kind, raw)` turns the JSON a person sent into the kind's schema or refuses it
with a `CareLineError` naming the key at fault (`config.port`) and a sentence saying what was
wrong. `redacted(kind, config)` is the config as the API shows it: credentials (the keys in
`SECRET_FIELDS`) never leave CareLine, they are replaced by `********`.

Notes on a few keys:

- `http.expect_status` is one status code (`200`) or a list of accepted codes
  (`[200, 204, 301]`); the default is 200. Redirects are not followed: a 301 or 302 is the
  answer that is checked, so a health URL that starts redirecting to a sign-in page is noticed.
- `http` bodies are read up to 1 MB; `keyword` and `regex` search that much, and a JSON
  assertion on a longer body fails.
- `http.json_path` is a small dotted path with list indexes, read from the start of the
  JSON document: `status`, `checks.database.ok`, `items[0].state`, `data.nodes[2].disk.used`.
  A leading `$.` is accepted and ignored. Keys containing `.` or `[` cannot be addressed.
  With `json_expect` the value found must equal it (numbers compare by value, so 1 equals
  1.0); without it the path must merely exist. A numeric value there becomes the check's
  value, which trends and thresholds use.
- URLs (`http.url`, `fhir.base_url`) may not carry a user name or password: credentials go in
  `http.headers` (an `Authorization` header), which is stored encrypted.
- `postgres.dsn` is a `postgresql://user:password@host:port/database` URL and
  `mysql.dsn` a `mysql://user:password@host:port/database` URL.
- `heartbeat` takes `period_s` (expected every N seconds) or `cron` (a five-field cron
  expression read in `tz`), not both, and `grace_s`, the extra time allowed before the
  job counts as late.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit, urlunsplit

import dns.exception
import dns.name
import dns.rdatatype
import hl7  # type: ignore[import-untyped]
from croniter import croniter  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from careline.core.errors import InvalidInput

MASK = "********"

DNS_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # printable ASCII, no backslash
_HOST = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")
_JSON_PATH_STEP = re.compile(r"([^.\[\]]+)?((?:\[\d+\])*)")


class ConfigFieldError(ValueError):
    """A rule spanning several keys, raised by a model validator, that still names one key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


def _check_port(value: int, key: str = "port") -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{key} must be between 1 and 65535 (got {value})")
    return value


def _check_host(value: str, key: str = "host") -> str:
    if not value:
        raise ValueError(f"{key} is required")
    if not _HOST.match(value):
        raise ValueError(f"{key} must be a host name or IP address (got {value!r})")
    return value


def _check_url(value: str, key: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{key} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{key} must start with http:// or https:// (got {value!r})")
    if not parts.hostname:
        raise ValueError(f"{key} has no host name (got {value!r})")
    if parts.username or parts.password:
        raise ValueError(
            f"{key} must not carry a user name or password; "
            "put credentials in an Authorization header"
        )
    if port == 0:
        raise ValueError(f"{key} has port 0; ports are between 1 and 65535")
    return value


def parse_json_path(path: str) -> list[str | int]:
    """`items[0].state` -> ["items", 0, "state"]; ValueError with a sentence if malformed."""
    text = path[2:] if path.startswith("$.") else path
    if not text:
        raise ValueError("json_path is empty")
    steps: list[str | int] = []
    for part in text.split("."):
        match = _JSON_PATH_STEP.fullmatch(part)
        if not part or match is None or (match.group(1) is None and not match.group(2)):
            raise ValueError(
                f"json_path {path!r} is not a dotted path such as items[0].status "
                f"(problem near {part!r})"
            )
        if match.group(1) is not None:
            steps.append(match.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return steps


class HttpConfig(_Config):
    """An HTTP(S) endpoint: the answer's status, body and speed."""

    url: str = Field(description="http:// or https:// URL to request")
    method: str = Field("GET", description="HTTP method: " + ", ".join(HTTP_METHODS))
    headers: dict[str, str] = Field(
        default_factory=dict, description="Request headers; stored encrypted, never shown"
    )
    expect_status: list[int] | int = Field(
        200, description="Accepted status code, or a list of accepted codes"
    )
    keyword: str | None = Field(None, description="Text the body must contain")
    regex: str | None = Field(None, description="Regular expression the body must match")
    json_path: str | None = Field(
        None, description="Dotted path into a JSON body, e.g. checks.db.status or items[0].ok"
    )
    json_expect: Any | None = Field(None, description="Value expected at json_path")
    max_latency_ms: int | None = Field(
        None, description="Slower answers than this are 'degraded' (milliseconds)"
    )
    verify_tls: bool = Field(True, description="Verify the server's certificate")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, "url")

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        method = value.upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"method must be one of {', '.join(HTTP_METHODS)} (got {value!r})")
        return method

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise ValueError(f"headers: {name!r} is not a valid header name")
            if any(c in header for c in "\r\n\x00"):
                raise ValueError(f"headers: the value of {name} contains a line break")
        return value

    @field_validator("expect_status")
    @classmethod
    def _expect_status(cls, value: list[int] | int) -> list[int] | int:
        codes = value if isinstance(value, list) else [value]
        if not codes:
            raise ValueError("expect_status must name at least one status code")
        for code in codes:
            if not 100 <= code <= 599:
                raise ValueError(f"expect_status must be between 100 and 599 (got {code})")
        return value

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"regex is not a valid regular expression ({exc})") from None
        return value

    @field_validator("json_path")
    @classmethod
    def _json_path(cls, value: str | None) -> str | None:
        if value is not None:
            parse_json_path(value)
        return value

    @field_validator("max_latency_ms")
    @classmethod
    def _max_latency(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 600_000:
            raise ValueError(f"max_latency_ms must be between 1 and 600000 (got {value})")
        return value

    @model_validator(mode="after")
    def _expect_needs_path(self) -> HttpConfig:
        if self.json_expect is not None and self.json_path is None:
            raise ConfigFieldError("json_path", "json_path is required when json_expect is set")
        return self

    def accepts(self, status: int) -> bool:
        codes = self.expect_status
        return status in codes if isinstance(codes, list) else status == codes


class _Endpoint(_Config):
    """A host and port; subclasses may give the port a default."""

    host: str
    port: int

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _check_host(value)

    @field_validator("port", check_fields=False)
    @classmethod
    def _port(cls, value: int) -> int:
        return _check_port(value)


class TcpConfig(_Endpoint):
    """A TCP port that must accept connections."""


class DnsConfig(_Config):
    """A name that must resolve, optionally to an expected answer, optionally at a given server."""

    name: str = Field(description="Name to resolve")
    record_type: str = Field("A", description="Record type: " + ", ".join(DNS_RECORD_TYPES))
    expect: str | None = Field(None, description="One of the answers must equal this")
    server: str | None = Field(None, description="IP address of the DNS server to ask")
    port: int = 53

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            dns.name.from_text(value)
        except dns.exception.DNSException as exc:
            raise ValueError(f"name is not a valid DNS name ({exc})") from None
        if not value:
            raise ValueError("name is required")
        return value

    @field_validator("record_type")
    @classmethod
    def _record_type(cls, value: str) -> str:
        rtype = value.upper()
        if rtype not in DNS_RECORD_TYPES:
            raise ValueError(
                f"record_type must be one of {', '.join(DNS_RECORD_TYPES)} (got {value!r})"
            )
        dns.rdatatype.from_text(rtype)
        return rtype

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError(f"server must be an IP address (got {value!r})") from None
        return value

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        return _check_port(value)


class TlsConfig(_Endpoint):
    """A TLS certificate: valid chain and name, and not expiring within `warn_days`."""

    port: int = 443
    warn_days: int = Field(21, description="Degraded when the certificate expires this soon")

    @field_validator("warn_days")
    @classmethod
    def _warn_days(cls, value: int) -> int:
        if not 0 <= value <= 365:
            raise ValueError(f"warn_days must be between 0 and 365 (got {value})")
        return value


def _check_dsn(value: str, schemes: tuple[str, ...], example: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"dsn is not a valid URL ({exc})") from None
    if parts.scheme not in schemes:
        raise ValueError(f"dsn must be a URL like {example}")
    if not parts.hostname:
        raise ValueError(f"dsn has no host; write it like {example}")
    if port == 0:
        raise ValueError("dsn has port 0; ports are between 1 and 65535")
    return value


class PostgresConfig(_Config):
    """A PostgreSQL database: connect and run a read-only query."""

    dsn: str = Field(description="postgresql://user:password@host:5432/database")
    query: str = "SELECT 1"
    expect: str | None = Field(None, description="The query's first column must read this")

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: str) -> str:
        return _check_dsn(
            value, ("postgres", "postgresql"), "postgresql://user:password@host:5432/database"
        )

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not value:
            raise ValueError("query is required")
        return value


class MysqlConfig(_Config):
    """A MySQL or MariaDB database: connect and run a read-only query."""

    dsn: str = Field(description="mysql://user:password@host:3306/database")
    query: str = "SELECT 1"
    expect: str | None = Field(None, description="The query's first column must read this")

    @field_validator("dsn")
    @classmethod
    def _dsn(cls, value: str) -> str:
        return _check_dsn(value, ("mysql", "mariadb"), "mysql://user:password@host:3306/database")

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        if not value:
            raise ValueError("query is required")
        return value


class Hl7Config(_Endpoint):
    """An HL7 v2 interface over MLLP: send a test message, expect an ACK with AA or CA."""

    message: str | None = Field(
        None, description="HL7 v2 message to send (segments separated by CR or new lines)"
    )

    @field_validator("message")
    @classmethod
    def _message(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
        if not text.startswith("MSH"):
            raise ValueError("message must be an HL7 v2 message starting with an MSH segment")
        try:
            hl7.parse(text)
        except Exception as exc:
            raise ValueError(f"message is not a valid HL7 v2 message ({exc})") from None
        return text


class DicomConfig(_Endpoint):
    """A PACS or modality: association and C-ECHO."""

    called_ae: str = Field(description="AE title of the PACS or modality (1 to 16 characters)")
    calling_ae: str = Field("CARELINE", description="CareLine's AE title in the association")

    @field_validator("called_ae", "calling_ae")
    @classmethod
    def _ae_title(cls, value: str, info: Any) -> str:
        if not _AE_TITLE.match(value) or not value.strip():
            raise ValueError(
                f"{info.field_name} must be 1 to 16 printable ASCII characters "
                f"without a backslash (got {value!r})"
            )
        return value


class FhirConfig(_Config):
    """A FHIR server: an active CapabilityStatement at [base]/metadata."""

    base_url: str = Field(description="The FHIR base URL, e.g. https://fhir.example.org/r4")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_url(value, "base_url").rstrip("/")


class HeartbeatConfig(_Config):
    """A job that reports in (backups, cron jobs): expected every period or on a cron schedule."""

    period_s: int | None = Field(None, description="Expected every this many seconds")
    cron: str | None = Field(None, description="Expected on this cron schedule, e.g. 0 2 * * *")
    tz: str = Field("UTC", description="Time zone the cron schedule is read in")
    grace_s: int = Field(300, description="Extra seconds allowed before the job is late")

    @field_validator("period_s")
    @classmethod
    def _period(cls, value: int | None) -> int | None:
        if value is not None and not 10 <= value <= 31 * 86400:
            raise ValueError(f"period_s must be between 10 and 2678400 (got {value})")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"cron is not a five-field cron expression (got {value!r})")
        return value

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"tz is not a known time zone (got {value!r})") from None
        return value

    @field_validator("grace_s")
    @classmethod
    def _grace(cls, value: int) -> int:
        if not 0 <= value <= 7 * 86400:
            raise ValueError(f"grace_s must be between 0 and 604800 (got {value})")
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> HeartbeatConfig:
        if self.period_s is None and self.cron is None:
            raise ConfigFieldError("period_s", "period_s or cron is required")
        if self.period_s is not None and self.cron is not None:
            raise ConfigFieldError("cron", "give period_s or cron, not both")
        return self

    def next_expected(self, after: datetime) -> datetime:
        """When the next ping is due (without grace) for a job last seen at `after` (aware)."""
        if self.cron is None:
            assert self.period_s is not None
            return after + timedelta(seconds=self.period_s)
        local = after.astimezone(zoneinfo.ZoneInfo(self.tz))
        nxt: datetime = croniter(self.cron, local).get_next(datetime)
        return nxt


CONFIG_SCHEMAS: dict[str, type[BaseModel]] = {
    "http": HttpConfig,
    "tcp": TcpConfig,
    "dns": DnsConfig,
    "tls": TlsConfig,
    "postgres": PostgresConfig,
    "mysql": MysqlConfig,
    "hl7": Hl7Config,
    "dicom": DicomConfig,
    "fhir": FhirConfig,
    "heartbeat": HeartbeatConfig,
}

MonitorKind = Literal[
    "http", "tcp", "dns", "tls", "postgres", "mysql", "hl7", "dicom", "fhir", "heartbeat"
]

# Keys holding credentials: encrypted at rest, never returned by the API.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "http": ("headers",),
    "postgres": ("dsn",),
    "mysql": ("dsn",),
}


def parse_config(kind: str, raw: dict[str, Any]) -> BaseModel:
    """The validated config for `kind`, or InvalidInput naming `config.<key>`."""
    schema = CONFIG_SCHEMAS.get(kind)
    if schema is None:
        raise InvalidInput(
            f"unknown monitor kind {kind!r}; one of {', '.join(CONFIG_SCHEMAS)}", field="kind"
        )
    if not isinstance(raw, dict):
        raise InvalidInput("config must be a JSON object", field="config")
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        key, message = _first_problem(exc)
        raise InvalidInput(message, field=f"config.{key}" if key else "config") from None


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    loc = [str(p) for p in error.get("loc", ())]
    # `list[int] | int` reports the union branch ("expect_status", "list[int]", 0): keep the key.
    key = loc[0] if loc else ""
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigFieldError):
        return cause.key, cause.message
    if isinstance(cause, ValueError):
        return key, str(cause)
    kind = error.get("type", "")
    if kind == "missing":
        return key, f"{key} is required"
    if kind == "extra_forbidden":
        return key, f"{key} is not a setting of this monitor kind"
    return key, f"{key}: {error.get('msg', 'invalid')}"


def redacted(kind: str, config: BaseModel) -> dict[str, Any]:
    """The config as the API shows it: header values and DSN passwords replaced by ********."""
    data = config.model_dump(mode="json")
    if kind == "http":
        data["headers"] = dict.fromkeys(data.get("headers") or {}, MASK)
    if kind in ("postgres", "mysql") and data.get("dsn"):
        data["dsn"] = redact_dsn(data["dsn"])
    return data


def redact_dsn(dsn: str) -> str:
    """postgresql://app:s3cret@db:5432/ehr?sslmode=require -> postgresql://app:********@db:5432/ehr

    The query string is dropped too: it may carry a password (`?password=...`).
    """
    try:
        parts = urlsplit(dsn)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    if parts.username:
        netloc = (
            f"{parts.username}:{MASK}@{netloc}" if parts.password else f"{parts.username}@{netloc}"
        )
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, "", ""))

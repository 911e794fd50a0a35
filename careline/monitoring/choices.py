"""Monitoring's enumerations; values are the lower-case words of DESIGN.md."""

from django.db import models


class MonitorKind(models.TextChoices):
    HTTP = "http", "HTTP(S)"
    TCP = "tcp", "TCP port"
    DNS = "dns", "DNS record"
    TLS = "tls", "TLS certificate"
    POSTGRES = "postgres", "PostgreSQL query"
    MYSQL = "mysql", "MySQL query"
    HL7 = "hl7", "HL7 v2 over MLLP"
    DICOM = "dicom", "DICOM C-ECHO"
    FHIR = "fhir", "FHIR metadata"
    HEARTBEAT = "heartbeat", "Heartbeat (pushed)"


class MonitorStatus(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"
    DEGRADED = "degraded", "Degraded"
    PAUSED = "paused", "Paused"
    UNKNOWN = "unknown", "Unknown"


class ResultStatus(models.TextChoices):
    UP = "up", "Up"
    DOWN = "down", "Down"
    DEGRADED = "degraded", "Degraded"


class PingKind(models.TextChoices):
    PING = "ping", "Success"
    START = "start", "Started"
    FAIL = "fail", "Failed"


class IncidentSource(models.TextChoices):
    MONITOR = "monitor", "CareLine monitor"
    TREND = "trend", "Trend forecast"
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GENERIC = "generic", "Generic alert"
    BACKUP = "backup", "Backup older than its RPO"

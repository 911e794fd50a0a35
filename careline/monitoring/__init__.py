"""Monitoring: monitors of clinical systems, their checks, heartbeats, alert intake, and the
incidents they open through the service desk."""

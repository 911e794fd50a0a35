from __future__ import annotations

from django.db import models


class Lease(models.Model):
    """A named lease one engine holds at a time (leadership, or one job's claim).

    Taken and renewed with a conditional UPDATE, so two engines never both believe they
    hold it; it lapses by itself when its holder dies and stops renewing.
    """

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    acquired_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class EngineNode(models.Model):
    """One running (or lately running) engine process, its heartbeat and whether it leads."""

    node_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_beat = models.DateTimeField()
    is_leader = models.BooleanField(default=False)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_beat"]

    def __str__(self) -> str:
        return f"engine {self.node_id} on {self.hostname}"

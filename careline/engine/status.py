"""What the web side knows of the engines: read from their heartbeat rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from careline.engine.models import EngineNode


@dataclass(frozen=True)
class EngineStatus:
    running: bool
    leader: str | None
    heartbeat_age_s: float | None
    last_beat: datetime | None
    nodes: int

    def as_dict(self) -> dict[str, object]:
        return {
            "running": self.running,
            "leader": self.leader,
            "heartbeat_age_s": None
            if self.heartbeat_age_s is None
            else round(self.heartbeat_age_s, 1),
            "nodes": self.nodes,
        }


def engine_status() -> EngineStatus:
    """The freshest heartbeat decides: an engine whose beat is older than a lease is gone."""
    now = timezone.now()
    live_after = now.timestamp() - settings.ENGINE_LEASE_SECONDS
    nodes = list(EngineNode.objects.filter(stopped_at__isnull=True).order_by("-last_beat")[:20])
    live = [n for n in nodes if n.last_beat.timestamp() >= live_after]
    newest = nodes[0] if nodes else None
    leader = next((n.node_id for n in live if n.is_leader), None)
    return EngineStatus(
        running=bool(live),
        leader=leader,
        heartbeat_age_s=(now - newest.last_beat).total_seconds() if newest else None,
        last_beat=newest.last_beat if newest else None,
        nodes=len(live),
    )

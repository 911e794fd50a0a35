"""The engine: one asyncio process hosting CareLine's background loops.

Every engine beats a heartbeat row. One engine at a time holds the leadership lease and runs
the loops registered as leader-only; the others wait as standbys and take over when the
lease lapses (within ENGINE_LEASE_SECONDS + ENGINE_TICK_SECONDS of the leader's death, or
at once when it stops cleanly and releases the lease).

The ORM is synchronous: database work runs through `db()`, which hands it to the single
thread asgiref keeps for thread-sensitive code, so the engine holds one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from careline.core import requestctx
from careline.engine import leases
from careline.engine.models import EngineNode

log = logging.getLogger("careline.engine")
LEADER_LEASE = "engine-leader"
T = TypeVar("T")


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ORM work off the event loop, on the engine's one database thread."""

    def call() -> T:
        # Drop a connection the server closed or that outlived CONN_MAX_AGE, but never one
        # inside a transaction (a caller's, or a test's).
        if not connection.in_atomic_block:
            close_old_connections()
        return fn(*args, **kwargs)

    return await sync_to_async(call, thread_sensitive=True)()


@dataclass(frozen=True)
class LoopSpec:
    """A background loop: `tick` runs every `interval_s` seconds."""

    name: str
    interval_s: float
    tick: Callable[[], Awaitable[None]]
    leader_only: bool = True


# Apps add their loops here in AppConfig.ready().
REGISTRY: list[LoopSpec] = []


def register(spec: LoopSpec) -> None:
    if all(existing.name != spec.name for existing in REGISTRY):
        REGISTRY.append(spec)


@dataclass
class Engine:
    loops: list[LoopSpec] = field(default_factory=lambda: list(REGISTRY))
    node_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    lease_s: float = field(default_factory=lambda: float(settings.ENGINE_LEASE_SECONDS))
    tick_s: float = field(default_factory=lambda: float(settings.ENGINE_TICK_SECONDS))
    is_leader: bool = False
    _leader_tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        requestctx.bind(requestctx.RequestContext(origin="engine"))
        await db(self._register_node)
        log.info(
            "engine=%s started pid=%s loops=%s",
            self.node_id,
            os.getpid(),
            [s.name for s in self.loops],
        )
        shared = [
            asyncio.create_task(self._loop(spec, stop))
            for spec in self.loops
            if not spec.leader_only
        ]
        try:
            while not stop.is_set():
                await self._beat()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.tick_s)
        finally:
            await self._step_down()
            for task in shared:
                task.cancel()
            await asyncio.gather(*shared, return_exceptions=True)
            await db(self._deregister_node)
            log.info("engine=%s stopped", self.node_id)

    async def _beat(self) -> None:
        try:
            leading = await db(leases.acquire, LEADER_LEASE, self.node_id, self.lease_s)
        except Exception:
            # Without the database nobody can prove leadership: stop leading at once.
            log.exception("engine=%s lease renewal failed", self.node_id)
            leading = False
        if leading and not self.is_leader:
            log.info("engine=%s is now the leader", self.node_id)
            self.is_leader = True
            self._leader_tasks = [
                asyncio.create_task(self._loop(spec, None))
                for spec in self.loops
                if spec.leader_only
            ]
        elif not leading and self.is_leader:
            log.warning("engine=%s lost the leadership lease", self.node_id)
            await self._stop_leader_tasks()
        try:
            await db(self._write_heartbeat)
        except Exception:
            log.exception("engine=%s heartbeat write failed", self.node_id)

    async def _stop_leader_tasks(self) -> None:
        self.is_leader = False
        for task in self._leader_tasks:
            task.cancel()
        await asyncio.gather(*self._leader_tasks, return_exceptions=True)
        self._leader_tasks = []

    async def _step_down(self) -> None:
        was_leader = self.is_leader
        await self._stop_leader_tasks()
        if was_leader:
            await db(leases.release, LEADER_LEASE, self.node_id)

    async def _loop(self, spec: LoopSpec, stop: asyncio.Event | None) -> None:
        while stop is None or not stop.is_set():
            try:
                await spec.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # One failing tick must not stop the loop: the next one may succeed.
                log.exception("engine=%s loop=%s tick failed", self.node_id, spec.name)
            await asyncio.sleep(spec.interval_s)

    def _register_node(self) -> None:
        now = timezone.now()
        EngineNode.objects.update_or_create(
            node_id=self.node_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": now,
                "last_beat": now,
                "is_leader": False,
                "stopped_at": None,
            },
        )

    def _write_heartbeat(self) -> None:
        EngineNode.objects.filter(node_id=self.node_id).update(
            last_beat=timezone.now(), is_leader=self.is_leader
        )

    def _deregister_node(self) -> None:
        EngineNode.objects.filter(node_id=self.node_id).update(
            stopped_at=timezone.now(), is_leader=False
        )

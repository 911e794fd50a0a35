"""Notification delivery speed: from a cause's commit to the first of its notifications handed
to the SMTP server or the webhook, and sustained dispatch, with a real `careline engine` and
real receivers (aiosmtpd, an HTTP server), on SQLite and PostgreSQL (issue: notification
delivery, Speed).

Floors: p99 from commit to first hand-over under 1 s; at least 100 notifications/s.

The engine runs as shipped (its default poll interval, claims and concurrency); the receivers
run in a process of their own, each noting when a message reached it. The cause is one
function, `cause()`: a P1 incident ticket opened through the service desk's create path, which
pages the engineer on call in the ticket's transaction; the latency runs from the ticket's
commit to its page's first email reaching the SMTP server. The throughput part commits a burst
of emails and signed webhooks at once.

    .venv/bin/python bench/bench_notify.py
    CARELINE_BENCH_CAUSES=400 CARELINE_BENCH_RATE=40 CARELINE_BENCH_BURST=5000 \\
    .venv/bin/python bench/bench_notify.py
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import free_port, report, rows_per_database

CAUSES = int(os.environ.get("CARELINE_BENCH_CAUSES", "200"))
RATE = float(os.environ.get("CARELINE_BENCH_RATE", "20"))  # causes per second
BURST = int(os.environ.get("CARELINE_BENCH_BURST", "2000"))  # notifications at once


# --- the receivers' process ----------------------------------------------------------------


async def _serve_receivers(smtp_port: int, http_port: int) -> None:
    """Print `A <unix time> <subject>` for each message as it arrives."""
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    def arrived(subject: str) -> None:
        sys.stdout.write(f"A {time.time():.6f} {subject}\n")
        sys.stdout.flush()

    class Inbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            arrived(str(message_from_bytes(envelope.content)["Subject"]))
            return "250 OK"

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                arrived(json.loads(body)["subject"])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    controller = Controller(Inbox(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server = await asyncio.start_server(http, "127.0.0.1", http_port, backlog=1024)
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


class Arrivals:
    """Reads the receivers' lines: when the first message bearing each tag arrived."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.first: dict[str, float] = {}
        self.count = 0
        self.last = 0.0
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.process = process
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("READY"):
                self.ready.set()
                continue
            _, at, subject = line.rstrip("\n").split(" ", 2)
            tag = subject.rsplit(" ", 1)[-1]
            with self.lock:
                self.count += 1
                self.last = float(at)
                self.first.setdefault(tag, float(at))

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.count} of {count} notifications arrived")
            time.sleep(0.01)


# --- the bench's side ----------------------------------------------------------------------


def _setup(http_port: int) -> None:
    """A hospital just big enough: an ED nurse, an engineer on call every day with no rules of
    his own (so an email at once), a policy paging the rota, and a route for P1."""
    from datetime import date
    from datetime import time as wall

    from django.utils import timezone

    from careline.core import crypto, services
    from careline.oncall.models import (
        EscalationLevel,
        EscalationPolicy,
        EscalationRoute,
        Layer,
        LayerMember,
        Schedule,
        WebhookTarget,
    )

    now = timezone.now()
    WebhookTarget.objects.create(
        code="BENCH",
        name="Bench receiver",
        kind="webhook",
        url_encrypted=crypto.encrypt(f"http://127.0.0.1:{http_port}/events"),
        signing_key_encrypted=crypto.encrypt("bench-signing-key-0123456789"),
        created_at=now,
    )
    services.create_site(None, code="NORTH", name="Northgate", time_zone="America/New_York")
    services.create_department(
        None, code="NG-ED", name="Emergency Department", site="NORTH", clinical_area="ed"
    )
    services.create_department(None, code="NG-IT", name="IT", site="NORTH", clinical_area="other")
    services.create_user(None, username="nurse", role="requester", department="NG-ED")
    engineer = services.create_user(None, username="sam", role="engineer", department="NG-IT")
    engineer.email = "sam@hospital.example"
    engineer.save(update_fields=["email"])
    rota = Schedule.objects.create(
        code="IT-ONCALL", name="IT on call", time_zone="America/New_York", created_at=now
    )
    layer = Layer.objects.create(
        schedule=rota,
        position=1,
        name="Daily",
        length_days=1,
        handoff_time=wall(8),
        starts_on=date(2020, 1, 1),
    )
    LayerMember.objects.create(layer=layer, user=engineer, position=0)
    policy = EscalationPolicy.objects.create(code="CLINICAL", name="Clinical", created_at=now)
    EscalationLevel.objects.create(
        policy=policy, position=1, target_kind="schedule", schedule=rota, wait_minutes=5
    )
    EscalationRoute.objects.create(position=1, priority="P1", policy=policy)


def cause(n: int, run: str) -> str:
    """The cause: a P1 incident ticket opened by an ED nurse ("care cannot be given"), through
    the service desk's own create path; its page's first message is what arrives. Returns the
    tag the message's subject ends with."""
    from careline.core.models import User
    from careline.servicedesk.services.tickets import TicketDraft, create_ticket

    tag = f"{run}-{n}"
    nurse = User.objects.get(username="nurse")
    ticket = create_ticket(
        nurse,
        TicketDraft(
            kind="incident",
            title=f"EHR will not open {tag}",
            description="",
            department="NG-ED",
            care_effect="blocked",
            scope="person",
        ),
    )
    assert ticket.priority == "P1", ticket.priority_reason
    return tag


def _burst(count: int) -> float:
    """`count` notifications committed at once; the commit's time."""
    from django.db import transaction

    from careline.oncall import outbox
    from careline.oncall.models import WebhookTarget

    target = WebhookTarget.objects.get(code="BENCH")
    with transaction.atomic(), outbox.batch():
        for n in range(count // 2):
            tag = f"burst-{n}"
            outbox.enqueue_email(
                outbox.Email(
                    to=f"oncall{n}@h.example", subject=f"Burst {tag}", body="b", key=f"{tag}:email"
                )
            )
            outbox.enqueue(
                outbox.Message(
                    channel="webhook",
                    target=target,
                    subject=f"Burst {tag}",
                    body="b",
                    key=f"{tag}:webhook",
                )
            )
    return time.time()


def _run(database: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careline.settings")
    django.setup()
    smtp_port, http_port = free_port(), free_port()
    receivers = subprocess.Popen(
        [sys.executable, __file__, "--receivers", str(smtp_port), str(http_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    arrivals = Arrivals(receivers)
    engine_env = {**os.environ, "CARELINE_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}"}
    engine = subprocess.Popen(
        [sys.executable, "-m", "careline.cli", "engine", "--no-migrate"],
        env=engine_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        arrivals.ready.wait(30)
        _setup(http_port)
        # Warm-up: the engine is up and its connections open once these arrive.
        for n in range(10):
            cause(n, "warmup")
        arrivals.wait_for(10, 120)

        committed: dict[str, float] = {}
        started = time.monotonic()
        for n in range(CAUSES):
            pause = started + n / RATE - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            tag = cause(n, "cause")
            committed[tag] = time.time()
        arrivals.wait_for(10 + CAUSES, 120)
        latencies = sorted(arrivals.first[tag] - at for tag, at in committed.items())
        p = statistics.quantiles(latencies, n=100, method="inclusive")

        before = arrivals.count
        start = time.time()
        _burst(BURST)
        arrivals.wait_for(before + BURST, 600)
        elapsed = arrivals.last - start
        row = {
            "database": database,
            "causes": CAUSES,
            "rate_per_s": RATE,
            "latency_p50_ms": p[49] * 1000,
            "latency_p99_ms": p[98] * 1000,
            "latency_max_ms": latencies[-1] * 1000,
            "burst": BURST,
            "burst_s": elapsed,
            "notifications_per_s": BURST / elapsed,
            "floor_p99_ms": 1000,
            "floor_per_s": 100,
        }
        print("ROW " + json.dumps(row))
    finally:
        engine.terminate()
        engine.wait(30)
        receivers.terminate()
        receivers.wait(10)


COLUMNS = [
    "database",
    "causes",
    "rate_per_s",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "floor_p99_ms",
    "burst",
    "burst_s",
    "notifications_per_s",
    "floor_per_s",
]


def main() -> None:
    report("notify", rows_per_database(__file__, ["migrate"]), COLUMNS)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receivers"]:
        asyncio.run(_serve_receivers(int(sys.argv[2]), int(sys.argv[3])))
    elif sys.argv[1:2] == ["--run"]:
        _run(sys.argv[2])
    else:
        main()

"""Real receivers for delivery tests: an HTTP server and an SMTP server on 127.0.0.1.

Each records what reached it, so a test can count deliveries per Idempotency-Key or
Message-ID, the way a careful receiver drops repeats. Both run on threads of the test
process; an engine subprocess delivers to them over real sockets.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.time() when it arrived

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer (a killed engine) is part of the test


class HttpReceiver:
    """Answers each request from `answers` in turn, then with `default` (or `answer(request)`
    when given). `gate`, when set, holds every answer until the test opens it."""

    def __init__(
        self,
        answers: list[Answer] | None = None,
        *,
        default: Answer | None = None,
        answer: Callable[[str, dict[str, str], bytes], Answer] | None = None,
        delay_s: float = 0.0,
        port: int = 0,
    ) -> None:
        self.answers = list(answers or [])
        self.default = default or Answer()
        self.answer = answer
        self.delay_s = delay_s
        self.gate: threading.Event | None = None
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_at_once = 0
        self.server = _QuietServer(("127.0.0.1", port), self._handler())
        # A short poll: shutdown() waits for the next one.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()

    def _next(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if self.answer is not None:
            return self.answer(path, headers, body)
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default

    def delivered(self) -> Counter[str]:
        """How many times each Idempotency-Key was taken (answered 2xx)."""
        with self.lock:
            return Counter(r.key for r in self.received if 200 <= r.status < 300)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.in_flight += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver.in_flight)
                if receiver.gate is not None:
                    receiver.gate.wait(30)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                answer = receiver._next(self.path, headers, body)
                with receiver.lock:
                    receiver.in_flight -= 1
                    receiver.received.append(
                        Received("POST", self.path, headers, body, answer.status, time.time())
                    )
                payload = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads `received`

        return Handler


class SmtpInbox:
    """A real SMTP server (aiosmtpd); `start()` and `stop()` may be called again, on the
    same port, to play an outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []
        self.arrivals: list[float] = []
        self.lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.arrivals.append(time.time())
        return "250 OK"

    def start(self) -> SmtpInbox:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def by_message_id(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

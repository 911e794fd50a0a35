"""Tiny real servers the monitoring tests start and stop: a TCP listener, an HTTP server,
and a listener that accepts and then never answers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Server:
    """A server on 127.0.0.1 that can be stopped and started again on the same port."""

    mode: str = "http"  # "http": 200 OK with a small body; "hang": accept and say nothing
    port: int = 0
    hits: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> Server:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hits += 1
        self._writers.add(writer)
        try:
            if self.mode == "hang":
                await asyncio.sleep(3600)
                return
            if self.mode == "http":
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                body = b'{"status": "ok", "disk": 42.5}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

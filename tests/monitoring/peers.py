"""Real servers the check tests talk to, all on 127.0.0.1 and free ports.

One background thread runs an asyncio loop hosting the peers, so a test's own event loop
(where the check runs) and the servers never share a thread. Peers:

- an HTTP/1.1 server (keep-alive, optional TLS) with per-path handlers;
- TLS certificates made with `cryptography`: a test CA, a valid leaf for 127.0.0.1 and
  localhost, an expired one, one expiring in 5 days, a self-signed one, one for another name;
- misbehaving TCP servers: one that accepts and never answers, one that resets the
  connection, one that sends garbage; and a port nobody listens on;
- an MLLP (HL7 v2) server answering with a configurable ACK code;
- a DICOM SCP (pynetdicom) answering C-ECHO;
- a DNS server (dnspython messages over UDP) answering from a small zone.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import hl7
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.processes import free_port

T = TypeVar("T")


class PeerLoop:
    """An asyncio loop in a daemon thread; `run(coro)` executes a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="peers")
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


_shared: PeerLoop | None = None


def peer_loop() -> PeerLoop:
    global _shared
    if _shared is None:
        _shared = PeerLoop()
    return _shared


# --------------------------------------------------------------------------- HTTP


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int = 200
    body: bytes | Callable[[], AsyncIterator[bytes]] = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None  # Content-Length for a streamed body


Handler = Callable[[Request], Awaitable[Response]]

REASONS = {200: "OK", 204: "No Content", 404: "Not Found", 500: "Server Error", 503: "Unavailable"}


class HttpPeer:
    """An HTTP/1.1 server with keep-alive; `routes` maps a path to a handler."""

    def __init__(self, routes: dict[str, Handler], context: ssl.SSLContext | None = None) -> None:
        self.routes = routes
        self.context = context
        self.port = 0
        self.requests = 0
        self.server: asyncio.Server | None = None

    @property
    def base(self) -> str:
        scheme = "https" if self.context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def start(self) -> HttpPeer:
        self.server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.context, backlog=1024
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests += 1
                handler = self.routes.get(path.split("?")[0])
                if handler is None:
                    response = Response(404, b"not found")
                else:
                    response = await handler(Request(method, path, headers, body))
                await self._write(writer, response, method)
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError):
            pass
        finally:
            writer.close()

    async def _write(self, writer: asyncio.StreamWriter, response: Response, method: str) -> None:
        body = response.body
        length = len(body) if isinstance(body, bytes) else response.length
        head = [
            f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Status')}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {length}",
            *(f"{k}: {v}" for k, v in response.headers.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if method == "HEAD":
            await writer.drain()
            return
        if isinstance(body, bytes):
            writer.write(body)
            await writer.drain()
            return
        async for chunk in body():
            writer.write(chunk)
            await writer.drain()


def text(body: str, status: int = 200, content_type: str = "text/plain") -> Handler:
    async def handler(request: Request) -> Response:
        return Response(status, body.encode(), content_type)

    return handler


def json_body(raw: str, status: int = 200, content_type: str = "application/json") -> Handler:
    return text(raw, status, content_type)


def slow(delay_s: float, body: str = "ok") -> Handler:
    async def handler(request: Request) -> Response:
        await asyncio.sleep(delay_s)
        return Response(200, body.encode())

    return handler


class HugeBody:
    """A 200 answer announcing and streaming `size` bytes; counts what it managed to send."""

    def __init__(self, size: int = 50 * 1024 * 1024, tail: bytes = b"") -> None:
        self.size = size
        self.tail = tail
        self.sent = 0

    async def __call__(self, request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            block = b"x" * 65536
            remaining = self.size - len(self.tail)
            while remaining > 0:
                piece = block[: min(len(block), remaining)]
                remaining -= len(piece)
                self.sent += len(piece)
                yield piece
            yield self.tail

        return Response(200, chunks, length=self.size)


def start_http(routes: dict[str, Handler], context: ssl.SSLContext | None = None) -> HttpPeer:
    return peer_loop().run(HttpPeer(routes, context).start())


# --------------------------------------------------------------------------- misbehaving TCP


class RawPeer:
    """A TCP server whose connection handler misbehaves on purpose; counts connections."""

    def __init__(
        self, behaviour: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> None:
        self.behaviour = behaviour
        self.port = 0
        self.connections = 0

    async def start(self) -> RawPeer:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, OSError):
            await self.behaviour(reader, writer)


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Accept, read whatever comes, never answer; hold the connection for an hour.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Wait for the request, then close with SO_LINGER 0: the kernel sends a RST.
    await reader.read(1)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1)
    writer.write(b"\x00\x17\xff garbage, not a protocol \xfe\r\n\r\n\x1c\r")
    await writer.drain()
    writer.close()


def start_hanging() -> RawPeer:
    return peer_loop().run(RawPeer(_hang).start())


def start_resetting() -> RawPeer:
    return peer_loop().run(RawPeer(_reset).start())


def start_garbage() -> RawPeer:
    return peer_loop().run(RawPeer(_garbage).start())


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens: connections are refused."""
    return free_port()


# --------------------------------------------------------------------------- TLS certificates


@dataclass
class Certificates:
    """PEM files in a temporary directory: a test CA and leaves signed by it (or not)."""

    directory: Path
    ca: Path
    valid: tuple[Path, Path]
    expired: tuple[Path, Path]
    expiring_soon: tuple[Path, Path]  # valid for 5 more days
    self_signed: tuple[Path, Path]
    wrong_name: tuple[Path, Path]

    def server_context(self, pair: tuple[Path, Path]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pair[0]), str(pair[1]))
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_pair(
    directory: Path, label: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path = directory / f"{label}.crt"
    key_path = directory / f"{label}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def make_certificates() -> Certificates:
    directory = Path(tempfile.mkdtemp(prefix="careline-certs-"))
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("CareLine Test CA"))
        .issuer_name(_name("CareLine Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.crt"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(
        label: str,
        names: list[str],
        not_before: dt.datetime,
        not_after: dt.datetime,
        self_signed: bool = False,
    ) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(_name(names[0]) if self_signed else ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        cert = builder.sign(key if self_signed else ca_key, hashes.SHA256())
        return _write_pair(directory, label, cert, key)

    local = ["127.0.0.1", "localhost"]
    return Certificates(
        directory=directory,
        ca=ca_path,
        valid=leaf("valid", local, now - dt.timedelta(days=1), now + dt.timedelta(days=200)),
        expired=leaf("expired", local, now - dt.timedelta(days=60), now - dt.timedelta(days=3)),
        expiring_soon=leaf(
            "soon", local, now - dt.timedelta(days=60), now + dt.timedelta(days=5, hours=1)
        ),
        self_signed=leaf(
            "selfsigned", local, now - dt.timedelta(days=1), now + dt.timedelta(days=200), True
        ),
        wrong_name=leaf(
            "wrongname",
            ["ehr.other-hospital.example"],
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=200),
        ),
    )


_certificates: Certificates | None = None


def certificates() -> Certificates:
    global _certificates
    if _certificates is None:
        _certificates = make_certificates()
        atexit.register(shutil.rmtree, _certificates.directory, ignore_errors=True)
    return _certificates


# --------------------------------------------------------------------------- MLLP / HL7


class MllpPeer:
    """An HL7 interface engine: answers each message with an ACK built by `hl7`.

    `ack_code` is AA, AE, AR or CA; with AE/AR the ACK carries `error_text` in MSA-3
    (`error_style` "msa") or in an ERR segment's user message, ERR-8 ("err"). `mode` "garbage" answers an MLLP block that is not HL7; "hang" never answers.
    """

    def __init__(
        self,
        ack_code: str = "AA",
        error_text: str = "",
        mode: str = "ack",
        error_style: str = "msa",
    ) -> None:
        self.ack_code = ack_code
        self.error_text = error_text
        self.error_style = error_style
        self.mode = mode
        self.port = 0
        self.received: list[str] = []

    async def start(self) -> MllpPeer:
        server = await hl7.mllp.start_hl7_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: Any, writer: Any) -> None:
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                self.received.append(str(message))
                if self.mode == "hang":
                    await asyncio.sleep(3600)
                if self.mode == "garbage":
                    writer.writeblock(b"this is not HL7 at all")
                    await writer.drain()
                    continue
                ack = message.create_ack(self.ack_code, application="LIS", facility="LAB")
                ack_text = str(ack).rstrip("\r")
                if self.error_text and self.error_style == "msa":
                    ack_text += f"|{self.error_text}"  # MSA-3, HL7 v2.3
                elif self.error_text:
                    # ERR-3 the HL7 error code, ERR-4 severity, ERR-8 the user message (v2.5)
                    ack_text += (
                        "\rERR||PID^1^3|207^Application internal error^HL70357|E"
                        f"||||{self.error_text}"
                    )
                writer.writemessage(hl7.parse(ack_text))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def start_mllp(
    ack_code: str = "AA", error_text: str = "", mode: str = "ack", error_style: str = "msa"
) -> MllpPeer:
    return peer_loop().run(MllpPeer(ack_code, error_text, mode, error_style).start())


# --------------------------------------------------------------------------- DICOM


@contextlib.contextmanager
def dicom_scp(ae_title: str = "PACS", echo_status: int = 0x0000) -> Iterator[int]:
    """A pynetdicom Verification SCP on a free port; refuses other called AE titles."""
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    def on_echo(event: Any) -> int:
        return echo_status

    ae = AE(ae_title=ae_title)
    ae.add_supported_context(Verification)
    ae.require_called_aet = True
    port = free_port()
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_ECHO, on_echo)]
    )
    try:
        yield port
    finally:
        server.shutdown()


# --------------------------------------------------------------------------- DNS


class DnsPeer(asyncio.DatagramProtocol):
    """An authoritative DNS server over UDP answering from `zone`: {(name, type): [rdata]}."""

    def __init__(self, zone: dict[tuple[str, str], list[str]], mode: str = "answer") -> None:
        self.zone = {(dns.name.from_text(n), t.upper()): v for (n, t), v in zone.items()}
        self.mode = mode
        self.port = 0
        self.queries = 0
        self.transport: asyncio.DatagramTransport | None = None

    async def start(self) -> DnsPeer:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        self.port = transport.get_extra_info("sockname")[1]
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queries += 1
        if self.mode == "hang":
            return
        if self.mode == "garbage":
            assert self.transport is not None
            self.transport.sendto(data[:2] + b"\xff\xff garbage", addr)
            return
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        rtype = dns.rdatatype.to_text(question.rdtype)
        known_names = {name for name, _ in self.zone}
        answers = self.zone.get((question.name, rtype))
        if question.name not in known_names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif answers:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 300, "IN", rtype, answers)
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


def start_dns(zone: dict[tuple[str, str], list[str]], mode: str = "answer") -> DnsPeer:
    return peer_loop().run(DnsPeer(zone, mode).start())

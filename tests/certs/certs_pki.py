"""Test PKI and TLS servers for the certificate tests and benchmark (real TLS, real certificates)."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "Test Root CA", issuer: Issued | None = None, days: int = 3650) -> Issued:
    """A root CA (self-signed) or, with ``issuer``, an intermediate CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer.cert.subject if issuer else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def make_leaf(
    names: Sequence[str],
    issuer: Issued | None,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    """A server certificate for ``names``; self-signed when ``issuer`` is None."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    subject = _name(names[0])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=89))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def server_context(leaf: Issued, chain: Sequence[Issued] = (), workdir: Path | None = None) -> ssl.SSLContext:
    """A server SSLContext serving ``leaf`` followed by ``chain`` (intermediates)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        certfile, keyfile = Path(tmp, "c.pem"), Path(tmp, "k.pem")
        certfile.write_bytes(leaf.cert_pem + b"".join(c.cert_pem for c in chain))
        keyfile.write_bytes(leaf.key_pem)
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


class TLSServer:
    """An asyncio TLS server in a thread, choosing the certificate by SNI name.

    ``by_name`` maps SNI names to contexts; ``default`` serves clients without (or with unknown) SNI.
    """

    def __init__(self, default: ssl.SSLContext, by_name: Mapping[str, ssl.SSLContext] | None = None,
                 ports: int = 1) -> None:
        self.default = default
        self.by_name = dict(by_name or {})
        self.count = ports
        self.ports: list[int] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _pick(self, sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        if name and name in self.by_name:
            sslobj.context = self.by_name[name]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1)
        except (OSError, ssl.SSLError):
            pass
        writer.transport.abort()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.default.sni_callback = self._pick
        servers = []
        for _ in range(self.count):
            srv = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.default, backlog=2048)
            )
            servers.append(srv)
            self.ports.append(srv.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()
        for srv in servers:
            srv.close()

    def start(self) -> TLSServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def port(self) -> int:
        return self.ports[0]


@contextmanager
def tls_server(default: ssl.SSLContext, by_name: Mapping[str, ssl.SSLContext] | None = None,
               ports: int = 1) -> Iterator[TLSServer]:
    server = TLSServer(default, by_name, ports).start()
    try:
        yield server
    finally:
        server.stop()

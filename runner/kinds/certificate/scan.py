"""Scan certificates where they are used: TLS endpoints (concurrently) and PEM files.

Endpoints are fetched with asyncio over one event loop, many handshakes in flight at once; the
served chain is kept whole (leaf and intermediates) so chain validity is judged on what clients get.
Verification is done here with ``cryptography`` rather than by OpenSSL during the handshake, so an
expired, self-signed or misnamed certificate is still read and reported instead of just refused.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509

from runner.kinds.certificate import x509info
from runner.kinds.certificate.model import ScanResult


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A TLS endpoint: connect to ``address``:``port`` and send ``name`` as SNI."""

    address: str
    port: int = 443
    name: str = ""
    host: str = ""  # the inventory host it belongs to, if any

    @property
    def target(self) -> str:
        where = f"{self.address}:{self.port}"
        return f"{where} ({self.name})" if self.name and self.name != self.address else where


def _client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Deliberately unverified at the TLS layer: the chain is verified afterwards with the estate's
    # own trust roots, and a bad certificate must be reported, not refused.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # noqa: S323
    return ctx


async def fetch_chain(ep: Endpoint, ctx: ssl.SSLContext, timeout: float) -> list[bytes]:
    """The DER certificates the endpoint serves, leaf first."""
    sni = ep.name or None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(
            ep.address, ep.port, ssl=ctx, server_hostname=sni, ssl_handshake_timeout=timeout
        ),
        timeout,
    )
    del reader
    try:
        sslobj = writer.get_extra_info("ssl_object")
        chain = _served_chain(sslobj)
    finally:
        # Only the handshake was wanted; skip the close_notify round trip.
        writer.transport.abort()
    return chain


def _served_chain(sslobj: ssl.SSLObject) -> list[bytes]:
    import _ssl

    inner = getattr(sslobj, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None)
    if getter is not None:  # CPython >= 3.10 keeps the peer's chain here; public only from 3.13
        chain = getter() or []
        return [c.public_bytes(_ssl.ENCODING_DER) for c in chain]
    leaf = sslobj.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def judge(
    *,
    source: str,
    target: str,
    name: str,
    host: str,
    chain: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: datetime,
) -> ScanResult:
    """Build a ScanResult from a chain (leaf first): facts, chain validity and name match."""
    leaf, rest = chain[0], list(chain[1:])
    valid: bool | None = None
    reason = ""
    if roots:
        valid, reason = x509info.verify_chain(leaf, rest, roots, at=now)
    return ScanResult(
        source=source,  # type: ignore[arg-type]
        target=target,
        name=name,
        host=host,
        cert=x509info.info(leaf),
        chain_length=len(chain),
        chain_valid=valid,
        chain_error=reason,
        name_match=x509info.name_matches(leaf, name) if name else None,
    )


async def _scan_one(
    ep: Endpoint, ctx: ssl.SSLContext, sem: asyncio.Semaphore, timeout: float,
    roots: Sequence[x509.Certificate], now: datetime,
) -> ScanResult:
    async with sem:
        try:
            ders = await fetch_chain(ep, ctx, timeout)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            message = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
            return ScanResult(source="endpoint", target=ep.target, name=ep.name, host=ep.host, error=message)
    if not ders:
        return ScanResult(
            source="endpoint", target=ep.target, name=ep.name, host=ep.host, error="no certificate served"
        )
    chain = [x509.load_der_x509_certificate(d) for d in ders]
    return judge(
        source="endpoint", target=ep.target, name=ep.name, host=ep.host, chain=chain, roots=roots, now=now
    )


async def scan_endpoints_async(
    endpoints: Sequence[Endpoint],
    roots: Sequence[x509.Certificate] = (),
    *,
    timeout: float = 5.0,
    concurrency: int = 256,
    now: datetime | None = None,
) -> list[ScanResult]:
    ctx = _client_context()
    sem = asyncio.Semaphore(concurrency)
    when = now or datetime.now(UTC)
    return list(
        await asyncio.gather(*(_scan_one(ep, ctx, sem, timeout, roots, when) for ep in endpoints))
    )


def scan_endpoints(
    endpoints: Sequence[Endpoint],
    roots: Sequence[x509.Certificate] = (),
    *,
    timeout: float = 5.0,
    concurrency: int = 256,
    now: datetime | None = None,
) -> list[ScanResult]:
    """Scan every endpoint concurrently; results come back in the order given."""
    return asyncio.run(
        scan_endpoints_async(endpoints, roots, timeout=timeout, concurrency=concurrency, now=now)
    )


FileReader = Callable[[str, str], bytes]  # (host, path) -> file content


def scan_files(
    files: Iterable[tuple[str, str, str]],
    read: FileReader,
    roots: Sequence[x509.Certificate] = (),
    *,
    now: datetime | None = None,
) -> list[ScanResult]:
    """Scan PEM files: ``files`` holds (host, path, expected name); ``read`` fetches a file's bytes.

    A file may hold a full chain (leaf first); a private key in the same file is never parsed or kept.
    """
    when = now or datetime.now(UTC)
    out: list[ScanResult] = []
    for host, path, name in files:
        target = f"{host}:{path}"
        try:
            chain = x509info.load_pem_chain(read(host, path))
        except Exception as exc:  # noqa: BLE001 - any read or parse failure is this file's result
            out.append(ScanResult(source="file", target=target, name=name, host=host, error=_short(exc)))
            continue
        out.append(
            judge(source="file", target=target, name=name, host=host, chain=chain, roots=roots, now=when)
        )
    return out


def _short(exc: BaseException) -> str:
    from runner.errors import MaintctlError
    from runner.redact import redact_text

    text = str(exc) if isinstance(exc, MaintctlError) else f"{type(exc).__name__}: {exc}"
    return redact_text(text)[:500]

"""Reading certificates with ``cryptography``: facts, chain validation and name matching.

Pure functions over bytes and certificate objects; callers do the I/O.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from runner.kinds.certificate.model import CertInfo

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


class CertParseError(ValueError):
    """Bytes that should hold a certificate do not."""


def load_pem_chain(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in file order (private key blocks are ignored)."""
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        raise CertParseError("no PEM certificate found")
    try:
        return [x509.load_pem_x509_certificate(b) for b in blocks]
    except ValueError as exc:
        raise CertParseError(f"malformed PEM certificate: {exc}") from exc


def to_pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def sans_of(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    names: list[str] = list(ext.value.get_values_for_type(x509.DNSName))
    names += [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]
    return tuple(names)


def ari_cert_id(cert: x509.Certificate) -> str | None:
    """RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(DER serial)."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    if aki.key_identifier is None:
        return None
    serial = cert.serial_number
    # The serial is a DER INTEGER: big-endian two's complement, so leave room for the sign bit.
    raw = serial.to_bytes(math.ceil((serial.bit_length() + 1) / 8), "big", signed=True)
    return f"{_b64url(aki.key_identifier)}.{_b64url(raw)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _key_type(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    return type(key).__name__


def info(cert: x509.Certificate) -> CertInfo:
    """The report facts of one certificate."""
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        sans=sans_of(cert),
        issuer=cert.issuer.rfc4514_string(),
        serial=serial_hex(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256=fingerprint(cert),
        key_type=_key_type(cert),
        self_signed=cert.issuer == cert.subject,
        ari_id=ari_cert_id(cert),
    )


def name_matches(cert: x509.Certificate, name: str) -> bool:
    """Whether ``name`` (a DNS name or IP address) is covered by the certificate's SANs (RFC 6125).

    The subject CN is not consulted: browsers and the Web PKI ignore it for matching.
    """
    name = name.rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    for san in sans_of(cert):
        if ip is not None:
            try:
                if ipaddress.ip_address(san) == ip:
                    return True
            except ValueError:
                continue
        elif _dns_match(san.lower().rstrip("."), name):
            return True
    return False


def _dns_match(pattern: str, name: str) -> bool:
    if pattern == name:
        return True
    # A wildcard covers exactly one left-most label, never a bare public suffix such as "*.com".
    if pattern.startswith("*.") and pattern.count(".") >= 2:
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def load_trust_roots(bundles: Sequence[bytes]) -> list[x509.Certificate]:
    roots: list[x509.Certificate] = []
    for data in bundles:
        roots.extend(load_pem_chain(data))
    return roots


def verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime | None = None,
) -> tuple[bool, str]:
    """Whether ``leaf`` chains to one of ``roots`` through ``intermediates`` (Web PKI rules).

    The name is checked separately (``name_matches``), so the chain is verified for one of the leaf's
    own SANs. Returns (valid, reason when not).
    """
    from cryptography.x509 import verification as v

    if not roots:
        return False, "no trust roots configured"
    when = at or datetime.now(UTC)
    sans = sans_of(leaf)
    if not sans:
        return False, "leaf has no subjectAltName"
    subject: x509.DNSName | x509.IPAddress
    try:
        subject = x509.IPAddress(ipaddress.ip_address(sans[0]))
    except ValueError:
        subject = x509.DNSName(sans[0].replace("*.", "wildcard.", 1))
    try:
        verifier = v.PolicyBuilder().store(v.Store(list(roots))).time(when).build_server_verifier(subject)
        verifier.verify(leaf, list(intermediates))
    except (v.VerificationError, ValueError) as exc:
        return False, str(exc)
    return True, ""


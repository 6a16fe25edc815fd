"""What a certificate scan reports, as plain data (no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

SourceKind = Literal["endpoint", "file", "acm"]


@dataclass(frozen=True, kw_only=True)
class CertInfo:
    """The facts about one leaf certificate that renewal decisions and reports need."""

    subject: str
    sans: tuple[str, ...]
    issuer: str
    serial: str  # lower-case hex, no separators (as ``openssl x509 -serial`` prints it, lower-cased)
    not_before: datetime
    not_after: datetime
    sha256: str  # fingerprint of the DER encoding, lower-case hex
    key_type: str
    self_signed: bool
    ari_id: str | None = None  # RFC 9773 certificate identifier, when the cert has an AKI

    @property
    def lifetime_seconds(self) -> float:
        return (self.not_after - self.not_before).total_seconds()

    def seconds_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds()

    def days_left(self, now: datetime) -> float:
        return self.seconds_left(now) / 86400.0


@dataclass(frozen=True, kw_only=True)
class ScanResult:
    """One scanned certificate location and what was found there (or the error that prevented it).

    ``chain_valid`` is None when no chain check was possible (no certificate, or no trust roots given).
    """

    source: SourceKind
    target: str  # host:port, host:/path, or an ACM ARN
    name: str = ""  # the name expected on the certificate (SNI name, or the host's name)
    host: str = ""  # inventory host the location belongs to, when there is one
    cert: CertInfo | None = None
    chain_length: int = 0
    chain_valid: bool | None = None
    chain_error: str = ""
    name_match: bool | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and self.cert is not None

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """A JSON-ready view (datetimes as ISO 8601 UTC, days left computed at ``now``)."""
        out: dict[str, Any] = {
            "source": self.source,
            "target": self.target,
            "name": self.name,
            "host": self.host,
            "error": self.error,
            "chain_length": self.chain_length,
            "chain_valid": self.chain_valid,
            "chain_error": self.chain_error,
            "name_match": self.name_match,
            "extra": dict(self.extra),
            "cert": None,
        }
        if self.cert is not None:
            cert = asdict(self.cert)
            cert["sans"] = list(self.cert.sans)
            cert["not_before"] = self.cert.not_before.isoformat()
            cert["not_after"] = self.cert.not_after.isoformat()
            cert["days_left"] = round(self.cert.days_left(now), 3)
            out["cert"] = cert
        return out

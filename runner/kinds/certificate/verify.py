"""Prove an endpoint serves a given certificate: fingerprint match, chain to the trust roots, names.

A reloaded server may keep answering from old workers for a moment, so the check polls until the
new certificate is served or the timeout passes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from runner.kinds.certificate import x509info
from runner.kinds.certificate.scan import Endpoint, scan_endpoints


@dataclass(frozen=True, kw_only=True)
class Verification:
    ok: bool
    message: str
    expected_sha256: str
    served_sha256: str = ""
    served_serial: str = ""
    chain_valid: bool | None = None
    names_ok: bool = False
    attempts: int = 0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def verify_served(
    endpoint: Endpoint,
    expected: x509.Certificate,
    names: Sequence[str],
    roots: Sequence[x509.Certificate],
    *,
    timeout: float = 20.0,
    interval: float = 0.5,
) -> Verification:
    """Poll ``endpoint`` until it serves ``expected`` with a valid chain for every name in ``names``."""
    want = x509info.fingerprint(expected)
    deadline = time.monotonic() + timeout
    attempts = 0
    last = Verification(ok=False, message="not checked", expected_sha256=want)
    while True:
        attempts += 1
        results = scan_endpoints([endpoint], roots, timeout=min(5.0, timeout))
        res = results[0]
        if res.cert is None:
            last = Verification(ok=False, message=f"no certificate served: {res.error}", expected_sha256=want,
                                attempts=attempts)
        else:
            names_ok = all(x509info.name_matches(expected, n) for n in names) and bool(res.name_match)
            same = res.cert.sha256 == want
            chain_ok = res.chain_valid if roots else None
            problems = []
            if not same:
                problems.append(f"serves serial {res.cert.serial}, expected {format(expected.serial_number, 'x')}")
            if chain_ok is False:
                problems.append(f"chain invalid: {res.chain_error}")
            if not names_ok:
                problems.append(f"names {list(names)} not all covered")
            last = Verification(
                ok=not problems, message="; ".join(problems) or "serves the new certificate",
                expected_sha256=want, served_sha256=res.cert.sha256, served_serial=res.cert.serial,
                chain_valid=chain_ok, names_ok=names_ok, attempts=attempts,
            )
            if last.ok or (same and problems):
                return last  # right certificate but a broken chain or name will not improve by waiting
        if time.monotonic() + interval > deadline:
            return last
        time.sleep(interval)

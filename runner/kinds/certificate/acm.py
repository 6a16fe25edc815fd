"""AWS Certificate Manager: find certificates by ARN or tag, report them, renew imported ones.

ACM renews the certificates it issued itself; for those we report the renewal status it gives.
Imported certificates are ours to renew: a fresh key is made in memory for ACM (ACM needs the key),
a certificate is ordered over ACME (DNS-01: there is no host to serve HTTP-01), and the material is
re-imported under the same ARN, so everything using the ARN picks it up. The key is registered with
the redactor at once and only ever travels to ACM.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509

from runner.errors import AdapterError
from runner.kinds.certificate import x509info
from runner.kinds.certificate.model import ScanResult
from runner.kinds.certificate.scan import judge

if TYPE_CHECKING:
    from runner.engine.kind import RunContext
    from runner.kinds.certificate.config import CertSettings


def _aws_error(exc: BaseException, what: str) -> AdapterError:
    return AdapterError(f"ACM {what}: {exc}")


def find_arns(acm: Any, arns: Sequence[str], tags: Mapping[str, str]) -> list[str]:
    """The ARNs given, plus every certificate carrying all of ``tags``."""
    out = list(dict.fromkeys(arns))
    if not tags:
        return out
    try:
        for page in acm.get_paginator("list_certificates").paginate(
            Includes={"keyTypes": ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
                                   "EC_secp384r1", "EC_secp521r1"]}):
            for summary in page["CertificateSummaryList"]:
                arn = summary["CertificateArn"]
                have = {t["Key"]: t.get("Value", "") for t in acm.list_tags_for_certificate(
                    CertificateArn=arn).get("Tags", [])}
                if all(have.get(k) == v for k, v in tags.items()) and arn not in out:
                    out.append(arn)
    except Exception as exc:  # noqa: BLE001 - botocore errors of every kind
        raise _aws_error(exc, "listing certificates") from exc
    return out


def scan_acm(acm: Any, arns: Sequence[str], roots: Sequence[x509.Certificate], now: datetime) -> list[ScanResult]:
    """One ScanResult per ARN; ``extra`` holds ACM's type, status, renewal status and users."""
    results = []
    for arn in arns:
        try:
            desc = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception as exc:  # noqa: BLE001
            results.append(ScanResult(source="acm", target=arn, error=str(_aws_error(exc, "describe"))))
            continue
        extra = {
            "type": desc.get("Type", ""),
            "status": desc.get("Status", ""),
            "renewal_status": (desc.get("RenewalSummary") or {}).get("RenewalStatus", ""),
            "renewal_eligibility": desc.get("RenewalEligibility", ""),
            "in_use_by": list(desc.get("InUseBy", [])),
        }
        name = desc.get("DomainName", "")
        try:
            got = acm.get_certificate(CertificateArn=arn)
            chain = x509info.load_pem_chain((got["Certificate"] + "\n" + got.get("CertificateChain", "")).encode())
        except Exception as exc:  # noqa: BLE001 - e.g. a certificate still pending validation
            results.append(ScanResult(source="acm", target=arn, name=name, error=f"no certificate body: {exc}",
                                      extra=extra))
            continue
        res = judge(source="acm", target=arn, name=name, host="", chain=chain, roots=roots, now=now)
        results.append(ScanResult(**{**res.__dict__, "extra": extra}))
    return results


def new_key_and_csr(names: Sequence[str], key_type: str) -> tuple[bytes, bytes]:
    """An in-memory key (PKCS#8 PEM) for ACM and its CSR."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    key: Any
    if key_type.startswith("rsa-"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.split("-")[1]))
    else:
        key = ec.generate_private_key(ec.SECP384R1() if key_type == "ec-p384" else ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


def reimport(acm: Any, arn: str, acme: Any, solver: Any, names: Sequence[str], key_type: str,
             timeout: float) -> dict[str, Any]:
    """Order a new certificate for ``names`` and import it over ``arn``; return public facts."""
    from runner import redact

    key_pem, csr_pem = new_key_and_csr(names, key_type)
    redact.register([key_pem.decode()])
    issued = acme.issue(csr_pem, solver, timeout=timeout)
    try:
        acm.import_certificate(CertificateArn=arn, Certificate=issued.cert_pem, PrivateKey=key_pem,
                               CertificateChain=issued.chain_pem)
        body = acm.get_certificate(CertificateArn=arn)["Certificate"]
    except Exception as exc:  # noqa: BLE001
        raise _aws_error(exc, f"re-import of {arn}") from exc
    finally:
        del key_pem
    leaf = x509info.load_pem_chain(issued.cert_pem)[0]
    want = x509info.serial_hex(leaf)
    now_there = x509info.load_pem_chain(body.encode())[0]
    if x509info.fingerprint(now_there) != x509info.fingerprint(leaf):
        raise AdapterError(f"ACM {arn}: after re-import it holds serial {x509info.serial_hex(now_there)}, "
                           f"expected {want}")
    return {"arn": arn, "serial": want, "sha256": x509info.fingerprint(leaf),
            "not_after": leaf.not_valid_after_utc.isoformat()}


def acm_step(ctx: RunContext, settings: CertSettings, roots: Sequence[x509.Certificate], now: datetime,
             rng: random.Random) -> list[dict[str, Any]]:
    """Scan the item's ACM certificates, renew the imported ones that are due; record everything."""
    from runner.adapters.aws import AwsSessions
    from runner.kinds.certificate.policy import decide

    assert settings.acm is not None
    acm = AwsSessions.from_settings(ctx.catalogue.settings.aws).client("acm", region=settings.acm.region)
    arns = find_arns(acm, settings.acm.arns, settings.acm.tags)
    report: list[dict[str, Any]] = []
    freeze = ctx.options.get("freeze")
    for res in scan_acm(acm, arns, roots, now):
        entry: dict[str, Any] = res.as_dict(now)
        if res.cert is not None:
            d = decide(res.cert, settings.renew, now, jitter=rng.random(), freeze=str(freeze) if freeze else None)
            entry["decision"] = d.as_dict()
            if res.extra.get("type") == "IMPORTED" and d.action == "renew" and ctx.mode == "apply":
                entry["renewal"] = _renew_imported(ctx, settings, acm, res)
            elif res.extra.get("type") == "AMAZON_ISSUED":
                entry["renewal"] = {"by": "ACM", "status": res.extra.get("renewal_status") or "not started"}
        ctx.evidence.record(ctx.bundle_id, "certificate.acm", entry)
        report.append(entry)
    return report


def _renew_imported(ctx: RunContext, settings: CertSettings, acm: Any, res: ScanResult) -> dict[str, Any]:
    from pathlib import Path

    from runner.adapters.acme_client import AcmeClient, account_dir, load_or_create_account_key
    from runner.kinds.certificate.config import resolve_path
    from runner.kinds.certificate.dns import dns_solver

    acme_settings = settings.acme
    if acme_settings is None or acme_settings.challenge != "dns-01":
        return {"ok": False, "message": "renewing an imported ACM certificate needs acme.challenge: dns-01"}
    assert res.cert is not None
    root = Path(ctx.estate_root)
    key = load_or_create_account_key(account_dir(Path(ctx.state_dir), acme_settings.directory))
    client = AcmeClient(acme_settings.directory, key,
                        ca_bundle=resolve_path(root, acme_settings.ca_bundle), email=acme_settings.email)
    try:
        facts = reimport(acm, res.target, client, dns_solver(acme_settings, ctx.catalogue.settings.aws), res.cert.sans,
                         settings.key_type, acme_settings.timeout)
    except AdapterError as exc:
        return {"ok": False, "message": str(exc)}
    return {"ok": True, **facts}

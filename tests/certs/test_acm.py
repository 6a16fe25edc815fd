"""ACM against a moto server on 127.0.0.1: find by tag, report ACM-issued certificates, renew an imported
one through pebble (DNS-01 validated for real via challtestsrv) and re-import it under the same ARN."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from certs_acme import Pebble
from certs_pki import NOW, make_ca, make_leaf
from memrecorder import MemoryRecorder

from runner.catalogue.model import Catalogue, Inventory, Item, Settings, Targets
from runner.engine.kind import RunContext
from runner.kinds.certificate import config, x509info
from runner.kinds.certificate.acm import acm_step, find_arns, scan_acm

REGION = "us-east-1"


@pytest.fixture()
def acm(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("acm", region_name=REGION, endpoint_url=moto_url)


def _import(acm: Any, names: list[str], days_left: float, tags: dict[str, str]) -> str:
    ca = make_ca("Old ACM CA")
    leaf = make_leaf(names, ca, not_before=NOW - timedelta(days=80), not_after=NOW + timedelta(days=days_left))
    arn = acm.import_certificate(Certificate=leaf.cert_pem, PrivateKey=leaf.key_pem, CertificateChain=ca.cert_pem,
                                 Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["CertificateArn"]
    return str(arn)


def test_find_by_tag_and_scan(acm: Any) -> None:
    a = _import(acm, ["a.acm.test"], 30, {"team": "web", "env": "lab"})
    _import(acm, ["b.acm.test"], 30, {"team": "db"})
    issued = acm.request_certificate(DomainName="c.acm.test", Tags=[{"Key": "team", "Value": "web"}])["CertificateArn"]
    arns = find_arns(acm, ["arn:aws:acm:us-east-1:123456789012:certificate/given"], {"team": "web"})
    assert arns[0].endswith("/given") and a in arns and issued in arns and len(arns) == 3
    given, imported, amazon = scan_acm(acm, arns, [], NOW)
    assert given.error and not given.ok
    assert imported.ok and imported.extra["type"] == "IMPORTED" and imported.cert is not None
    assert imported.cert.sans == ("a.acm.test",) and 29 < imported.cert.days_left(NOW) < 31
    assert amazon.extra["type"] == "AMAZON_ISSUED"


def _ctx(estate: Path, moto_url: str, settings: dict[str, Any], rec: MemoryRecorder) -> RunContext:
    item = Item(id="acm-certs", kind="certificate", targets=Targets(), window="daily",
                expected_duration=timedelta(minutes=5), settings=settings)
    cat = Catalogue(root=str(estate), windows={}, freezes=(), items=(item,), inventory=Inventory(),
                    settings=Settings(aws={"endpoint_url": moto_url, "region": REGION}))
    return RunContext(run_id="r", item=item, catalogue=cat, estate_root=str(estate), state_dir=str(estate),
                      occurrence="now", bundle_id="b", evidence=rec, hosts=[], deadline=None)


def test_imported_certificate_renewed_and_reimported(acm: Any, moto_url: str, pebble: Pebble, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    due = _import(acm, ["due.acm.test", "www.due.acm.test"], 5, {"renew": "me"})
    fresh = _import(acm, ["fresh.acm.test"], 300, {"renew": "me"})
    raw = {"acm": {"tags": {"renew": "me"}, "region": REGION}, "renew": {"days": 10},
           "acme": {"directory": pebble.directory, "ca_bundle": pebble.ca_bundle, "challenge": "dns-01",
                    "dns_api": pebble.dns_management}}
    settings = config.parse(raw)
    rec = MemoryRecorder()
    roots = x509info.load_trust_roots([pebble.root_pem()])
    report = acm_step(_ctx(tmp_path, moto_url, raw, rec), settings, roots, NOW, random.Random(1))  # noqa: S311
    by_arn = {r["target"]: r for r in report}
    assert by_arn[fresh]["decision"]["action"] == "wait" and "renewal" not in by_arn[fresh]
    renewal = by_arn[due]["renewal"]
    assert renewal["ok"] is True, renewal
    got = acm.get_certificate(CertificateArn=due)
    chain = x509info.load_pem_chain((got["Certificate"] + got["CertificateChain"]).encode())
    assert x509info.serial_hex(chain[0]) == renewal["serial"]
    assert set(x509info.sans_of(chain[0])) == {"due.acm.test", "www.due.acm.test"}
    assert x509info.verify_chain(chain[0], chain[1:], roots) == (True, "")
    assert len(rec.named("certificate.acm")) == 2
    assert "PRIVATE KEY" not in rec.everything()


def test_amazon_issued_reported_with_renewal_status(acm: Any, moto_url: str, tmp_path: Path) -> None:
    arn = acm.request_certificate(DomainName="amazon.acm.test", Tags=[{"Key": "only", "Value": "this"}])[
        "CertificateArn"]
    raw = {"acm": {"arns": [arn]}}
    rec = MemoryRecorder()
    [entry] = acm_step(_ctx(tmp_path, moto_url, raw, rec), config.parse(raw), [], NOW, random.Random(1))  # noqa: S311
    assert entry["extra"]["type"] == "AMAZON_ISSUED"
    assert entry["renewal"] == {"by": "ACM", "status": "not started"}  # ACM renews its own; we only report
    assert entry["extra"]["status"] == "PENDING_VALIDATION" and entry["cert"]["sans"] == ["amazon.acm.test"]
    assert rec.named("certificate.acm")[0]["target"] == arn

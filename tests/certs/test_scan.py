"""Scanning real TLS servers (started here) and PEM files."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from certs_pki import NOW, Issued, TLSServer, make_ca, make_leaf, server_context, tls_server

from runner.kinds.certificate import x509info
from runner.kinds.certificate.model import ScanResult
from runner.kinds.certificate.scan import Endpoint, scan_endpoints, scan_files


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = make_ca("Scan Root")
    inter = make_ca("Scan Intermediate", issuer=root)
    return {
        "root": root,
        "inter": inter,
        "good": make_leaf(["good.test", "www.good.test"], inter),
        "expired": make_leaf(["expired.test"], inter, not_before=NOW - timedelta(days=90),
                             not_after=NOW - timedelta(days=2)),
        "short": make_leaf(["short.test"], inter, not_before=NOW - timedelta(hours=1),
                           not_after=NOW + timedelta(hours=5)),
        "selfsigned": make_leaf(["self.test"], None),
        "wild": make_leaf(["*.wild.test"], inter),
    }


@pytest.fixture(scope="module")
def server(pki: dict[str, Issued]) -> Iterator[TLSServer]:
    inter = [pki["inter"]]
    by_name = {
        "good.test": server_context(pki["good"], inter),
        "expired.test": server_context(pki["expired"], inter),
        "short.test": server_context(pki["short"], inter),
        "self.test": server_context(pki["selfsigned"]),
        "nochain.test": server_context(pki["good"]),  # intermediate missing from what is served
        "a.wild.test": server_context(pki["wild"], inter),
        "x.y.wild.test": server_context(pki["wild"], inter),
    }
    with tls_server(server_context(pki["good"], inter), by_name) as srv:
        yield srv


def _scan(server: TLSServer, pki: dict[str, Issued], name: str) -> ScanResult:
    [res] = scan_endpoints([Endpoint(address="127.0.0.1", port=server.port, name=name)], [pki["root"].cert])
    return res


def test_good_chain_and_name(server: TLSServer, pki: dict[str, Issued]) -> None:
    res = _scan(server, pki, "www.good.test")
    assert res.cert is not None
    assert res.ok and res.chain_valid is True and res.name_match is True
    cert = res.cert
    assert cert.sans == ("good.test", "www.good.test")
    assert cert.serial == format(pki["good"].cert.serial_number, "x")
    assert cert.issuer == "CN=Scan Intermediate"
    assert res.chain_length == 2
    assert 88 < cert.days_left(NOW) < 90
    assert cert.ari_id and "." in cert.ari_id


def test_expired_is_reported_not_refused(server: TLSServer, pki: dict[str, Issued]) -> None:
    res = _scan(server, pki, "expired.test")
    assert res.ok and res.cert.days_left(NOW) < 0
    assert res.chain_valid is False and "expired" in res.chain_error.lower()


def test_short_lived(server: TLSServer, pki: dict[str, Issued]) -> None:
    res = _scan(server, pki, "short.test")
    assert res.chain_valid is True
    assert 0 < res.cert.days_left(NOW) < 0.25


def test_wrong_name(server: TLSServer, pki: dict[str, Issued]) -> None:
    # Unknown SNI: the server falls back to its default certificate, which does not carry the name.
    res = _scan(server, pki, "other.test")
    assert res.chain_valid is True and res.name_match is False


def test_self_signed_chain_invalid(server: TLSServer, pki: dict[str, Issued]) -> None:
    res = _scan(server, pki, "self.test")
    assert res.cert.self_signed and res.chain_valid is False


def test_missing_intermediate_is_invalid(server: TLSServer, pki: dict[str, Issued]) -> None:
    res = _scan(server, pki, "nochain.test")
    assert res.chain_length == 1 and res.chain_valid is False


def test_wildcard_covers_one_label_only(server: TLSServer, pki: dict[str, Issued]) -> None:
    assert _scan(server, pki, "a.wild.test").name_match is True
    assert _scan(server, pki, "x.y.wild.test").name_match is False


def test_unreachable_endpoint_is_an_error_result() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [res] = scan_endpoints([Endpoint(address="127.0.0.1", port=port, name="x.test")], timeout=2)
    assert not res.ok and res.error and res.cert is None


def test_many_endpoints_keep_order(server: TLSServer, pki: dict[str, Issued]) -> None:
    names = ["good.test", "expired.test", "self.test", "short.test"] * 25
    eps = [Endpoint(address="127.0.0.1", port=server.port, name=n) for n in names]
    results = scan_endpoints(eps, [pki["root"].cert], concurrency=16)
    assert [r.name for r in results] == names
    assert [r.cert.subject for r in results[:4]] == [
        "CN=good.test", "CN=expired.test", "CN=self.test", "CN=short.test"]


def test_files(tmp_path: Path, pki: dict[str, Issued]) -> None:
    (tmp_path / "full.pem").write_bytes(pki["good"].cert_pem + pki["inter"].cert_pem)
    (tmp_path / "withkey.pem").write_bytes(pki["short"].key_pem + pki["short"].cert_pem)
    (tmp_path / "junk.pem").write_bytes(b"not a certificate")

    def read(host: str, path: str) -> bytes:
        assert host == "h1"
        return (tmp_path / path).read_bytes()

    files = [("h1", "full.pem", "good.test"), ("h1", "withkey.pem", "short.test"),
             ("h1", "junk.pem", "x"), ("h1", "missing.pem", "x")]
    full, withkey, junk, missing = scan_files(files, read, [pki["root"].cert])
    assert full.chain_valid is True and full.name_match is True and full.target == "h1:full.pem"
    assert withkey.ok and withkey.chain_valid is False  # intermediate not in the file
    assert "BEGIN" not in repr(withkey.as_dict(NOW))  # the key never appears in the report
    assert "no PEM certificate" in junk.error and not junk.ok
    assert missing.error and not missing.ok


def test_ari_id_matches_rfc9773_example_shape(pki: dict[str, Issued]) -> None:
    cert_id = x509info.ari_cert_id(pki["good"].cert)
    assert cert_id is not None
    aki, serial = cert_id.split(".")
    assert "=" not in cert_id and len(aki) == 27  # 20-byte SHA-1 key id, unpadded base64url
    assert int.from_bytes(__import__("base64").urlsafe_b64decode(serial + "=="), "big", signed=True) == \
        pki["good"].cert.serial_number

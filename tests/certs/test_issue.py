"""Issuance against a real pebble process: account key handling, HTTP-01 and DNS-01 validated for real,
key made on the "target" (this machine through LocalShell) with only the CSR leaving it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from certs_acme import Pebble
from cryptography.hazmat.primitives import serialization

from runner.adapters.acme_client import AcmeClient, AcmeError, account_dir, load_or_create_account_key
from runner.kinds.certificate import x509info
from runner.kinds.certificate.issue import (
    ChallTestSrvSolver,
    IssueRequest,
    WebrootSolver,
    issue_on_target,
    keygen_command,
)
from runner.kinds.certificate.remote import LocalShell


def _client(pebble: Pebble, estate: Path) -> AcmeClient:
    folder = account_dir(estate / ".maintctl", pebble.directory)
    return AcmeClient(pebble.directory, load_or_create_account_key(folder), ca_bundle=pebble.ca_bundle,
                      email="ops@example.org")


def test_account_key_private_and_reused(pebble: Pebble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    folder = account_dir(tmp_path / ".maintctl", pebble.directory)
    key1 = load_or_create_account_key(folder)
    assert stat.S_IMODE((folder / "account-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / ".maintctl").stat().st_mode) == 0o700
    assert load_or_create_account_key(folder) == key1
    serialization.load_pem_private_key(key1, None)  # EC P-256, loadable
    a = AcmeClient(pebble.directory, key1, ca_bundle=pebble.ca_bundle).register()
    b = AcmeClient(pebble.directory, key1, ca_bundle=pebble.ca_bundle).register()
    assert a == b and a.startswith("https://127.0.0.1")


def _check_new_cert(pebble: Pebble, stage: Path, new: object, names: tuple[str, ...]) -> None:
    cert = new.cert  # type: ignore[attr-defined]
    assert set(x509info.sans_of(cert)) == set(names)
    key_path = stage / "privkey.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600 and stat.S_IMODE(stage.stat().st_mode) == 0o700
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    assert key.public_key().public_bytes(serialization.Encoding.PEM, pub) == \
        cert.public_key().public_bytes(serialization.Encoding.PEM, pub)
    issued = new.issued  # type: ignore[attr-defined]
    assert b"PRIVATE KEY" not in issued.fullchain_pem
    chain = x509info.load_pem_chain(issued.fullchain_pem)
    roots = x509info.load_trust_roots([pebble.root_pem()])
    ok, why = x509info.verify_chain(chain[0], chain[1:], roots)
    assert ok, why
    assert x509info.load_pem_chain(issued.cert_pem)[0] == cert
    assert len(x509info.load_pem_chain(issued.chain_pem)) == len(chain) - 1


def test_http01_issuance_validated_for_real(pebble: Pebble, tmp_path: Path) -> None:
    shell = LocalShell()
    names = ("web1.certs.test", "www.web1.certs.test")
    stage = tmp_path / "stage"
    req = IssueRequest(host="local", names=names, stage_dir=str(stage), key_type="ec-p256")
    new = issue_on_target(shell, _client(pebble, tmp_path), req, WebrootSolver(shell, "local", str(pebble.webroot)))
    _check_new_cert(pebble, stage, new, names)
    # tokens are removed after validation
    assert list((pebble.webroot / ".well-known" / "acme-challenge").iterdir()) == []


def test_http01_fails_when_token_not_served(pebble: Pebble, tmp_path: Path) -> None:
    shell = LocalShell()
    req = IssueRequest(host="local", names=("nope.certs.test",), stage_dir=str(tmp_path / "s"))
    wrong_root = tmp_path / "not-served"
    with pytest.raises(AcmeError) as err:
        issue_on_target(shell, _client(pebble, tmp_path), req, WebrootSolver(shell, "local", str(wrong_root)))
    assert "nope.certs.test" in str(err.value)


def test_dns01_issuance_validated_for_real(pebble: Pebble, tmp_path: Path) -> None:
    shell = LocalShell()
    names = ("api.certs.test",)
    stage = tmp_path / "stage"
    req = IssueRequest(host="local", names=names, stage_dir=str(stage), key_type="rsa-2048")
    new = issue_on_target(shell, _client(pebble, tmp_path), req, ChallTestSrvSolver(pebble.dns_management))
    _check_new_cert(pebble, stage, new, names)
    assert x509info.info(new.cert).key_type == "RSA-2048"


def test_always_valid_pebble(pebble_always_valid: Pebble, tmp_path: Path) -> None:
    shell = LocalShell()
    stage = tmp_path / "stage"
    req = IssueRequest(host="local", names=("fast.certs.test",), stage_dir=str(stage))
    solver = WebrootSolver(shell, "local", str(tmp_path / "webroot"))
    new = issue_on_target(shell, _client(pebble_always_valid, tmp_path), req, solver)
    _check_new_cert(pebble_always_valid, stage, new, ("fast.certs.test",))


def test_no_renewal_info_in_this_pebble(pebble: Pebble, tmp_path: Path) -> None:
    client = _client(pebble, tmp_path)
    assert client.offers_renewal_info is False and client.renewal_info("aa.bb") is None


def test_bad_directory_and_untrusted_ca_are_clear_errors(pebble: Pebble, tmp_path: Path) -> None:
    key = load_or_create_account_key(account_dir(tmp_path, "x"))
    with pytest.raises(AcmeError, match="ACME directory https://127.0.0.1:1/dir"):
        AcmeClient("https://127.0.0.1:1/dir", key, ca_bundle=pebble.ca_bundle)
    with pytest.raises(AcmeError, match="ACME directory"):
        AcmeClient(pebble.directory, key)  # system trust does not know pebble's test CA


def test_keygen_command_keeps_key_on_target() -> None:
    cmd = keygen_command(IssueRequest(host="h", names=("a.test", "10.0.0.1"), stage_dir="/var/lib/x y"))
    assert "umask 077" in cmd and "'/var/lib/x y/privkey.pem'" in cmd
    assert "subjectAltName=DNS:a.test,IP:10.0.0.1" in cmd
    assert "-outform PEM" in cmd and "cat" not in cmd  # only the CSR is printed

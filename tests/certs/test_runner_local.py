"""The certificate kind end to end on this machine: a real nginx on 127.0.0.1, a real pebble validating
HTTP-01 against the webroot, the real deploy playbook through ansible-runner (connection: local).
The same runner drives the lab hosts over SSH in test_lab.py."""

from __future__ import annotations

import os
import socket
import ssl
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from certs_acme import Pebble
from certs_pki import NOW, Issued, make_ca, make_leaf
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from localnginx import LocalNginx
from memrecorder import MemoryRecorder

from runner.catalogue.model import Catalogue, Inventory, Item, Location, Targets
from runner.engine.kind import RunContext
from runner.kinds.certificate.runner import CertificateRunner

REPO = Path(__file__).resolve().parents[2]
NAME = "web.certs.test"


@pytest.fixture(scope="module")
def test_ca() -> Issued:
    return make_ca("Old Internal CA")


@pytest.fixture()
def estate(tmp_path: Path, pebble: Pebble, test_ca: Issued, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    root = tmp_path / "estate"
    (root / "inventory").mkdir(parents=True)
    (root / "playbooks").symlink_to(REPO / "playbooks")
    (root / "inventory" / "hosts.yml").write_text(
        "all:\n  children:\n    web:\n      hosts:\n        local:\n"
        "          ansible_connection: local\n          ansible_python_interpreter: /usr/bin/python3\n")
    (root / "trust.pem").write_bytes(pebble.root_pem() + test_ca.cert_pem)
    return root


@pytest.fixture()
def nginx(tmp_path: Path, test_ca: Issued) -> Iterator[LocalNginx]:
    srv = LocalNginx(tmp_path / "nginx", NAME)
    install(srv, make_leaf([NAME], test_ca, not_before=NOW - timedelta(days=80), not_after=NOW + timedelta(days=10)))
    srv.start()
    yield srv
    srv.stop()


def install(srv: LocalNginx, leaf: Issued) -> None:
    srv.fullchain.write_bytes(leaf.cert_pem)
    fd = os.open(srv.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(leaf.key_pem)


def served(srv: LocalNginx) -> x509.Certificate:
    """The certificate nginx serves, fetched independently of the code under test."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", srv.port), 5) as sock, \
            ctx.wrap_socket(sock, server_hostname=NAME) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return x509.load_der_x509_certificate(der)



def short_state_dir() -> str:
    """Ansible's SSH ControlPath socket lives in the run's state folder; Unix sockets are limited to
    108 bytes, which pytest's deep tmp paths exceed."""
    import tempfile

    path = tempfile.mkdtemp(prefix="mc-")
    _MADE.append(path)
    return path


_MADE: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _remove_state_dirs() -> Iterator[None]:
    yield
    import shutil

    for path in _MADE:
        shutil.rmtree(path, ignore_errors=True)


def context(estate: Path, pebble: Pebble, srv: LocalNginx, rec: MemoryRecorder, *,
            renew: dict[str, Any] | None = None, files: dict[str, str] | None = None,
            reload: str | None = None, options: dict[str, Any] | None = None) -> RunContext:
    settings = {
        "names": [NAME],
        "endpoint": {"address": "127.0.0.1", "port": srv.port},
        "files": files or {"fullchain": str(srv.fullchain), "key": str(srv.key)},
        "service": {"test": srv.test_command, "reload": reload or srv.reload_command},
        "stage_dir": str(estate / "stage"),
        "trust": ["trust.pem"],
        "renew": renew or {},
        "verify_timeout": 8,
        "acme": {"directory": pebble.directory, "ca_bundle": pebble.ca_bundle, "challenge": "http-01",
                 "webroot": str(pebble.webroot), "email": "ops@example.org"},
    }
    item = Item(id="web-certs", kind="certificate", targets=Targets(groups=("web",)), window="daily",
                expected_duration=timedelta(minutes=10), settings=settings,
                location=Location(file="maintenance/certs.yml", line=3, column=5))
    hostvars = {"local": {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}
    cat = Catalogue(root=str(estate), windows={}, freezes=(), items=(item,),
                    inventory=Inventory(groups={"web": ("local",)}, hostvars=hostvars))
    return RunContext(run_id="r1", item=item, catalogue=cat, estate_root=str(estate),
                      state_dir=short_state_dir(), occurrence="now", bundle_id="b1", evidence=rec,
                      hosts=["local"], deadline=None, options=options or {})


def run(ctx: RunContext) -> tuple[Any, dict[str, Any]]:
    kind = CertificateRunner()
    kind.before(ctx)
    [result] = kind.run_batch(ctx, ctx.hosts)
    summary = kind.after(ctx, [result])
    return result, summary


def test_due_certificate_is_renewed_deployed_and_served(estate: Path, pebble: Pebble, nginx: LocalNginx) -> None:
    before = served(nginx)
    rec = MemoryRecorder()
    result, summary = run(context(estate, pebble, nginx, rec))
    assert result.status == "changed", result.message
    now_served = served(nginx)
    assert now_served != before and now_served.issuer != before.issuer
    assert format(now_served.serial_number, "x") == result.data["serial"]
    assert summary["renewed"] == ["local"]
    assert [s.name for s in result.steps] == ["issue", "deploy", "verify"]
    # files: key private, previous files kept, staged key gone
    assert stat.S_IMODE(nginx.key.stat().st_mode) == 0o600
    assert Path(f"{nginx.fullchain}.maintctl-prev").read_bytes() == before.public_bytes(Encoding.PEM)
    assert not (estate / "stage" / "web-certs" / "privkey.pem").exists()
    # evidence: scan, decision, issue, verification; never the key
    assert rec.named("certificate.decision")[0]["action"] == "renew"
    assert rec.named("certificate.verified")[0]["ok"] is True
    assert "PRIVATE KEY" not in rec.everything()


def test_not_due_waits(estate: Path, pebble: Pebble, nginx: LocalNginx, test_ca: Issued) -> None:
    nginx.stop()
    install(nginx, make_leaf([NAME], test_ca, not_before=NOW - timedelta(days=1), not_after=NOW + timedelta(days=89)))
    nginx.start()
    result, _ = run(context(estate, pebble, nginx, MemoryRecorder()))
    assert result.status == "ok" and "not due" in result.message and result.steps == []


def test_freeze_blocks_non_urgent_renewal(estate: Path, pebble: Pebble, nginx: LocalNginx) -> None:
    before = served(nginx)
    rec = MemoryRecorder()
    result, summary = run(context(estate, pebble, nginx, rec, options={"freeze": "year-end"}))
    assert result.status == "skipped" and "blocked by freeze 'year-end'" in result.message
    assert served(nginx) == before and summary["blocked_by_freeze"] == ["local"]
    assert rec.named("certificate.freeze_overridden") == []


def test_emergency_renewal_overrides_freeze_and_says_so(estate: Path, pebble: Pebble, nginx: LocalNginx) -> None:
    before = served(nginx)
    rec = MemoryRecorder()
    ctx = context(estate, pebble, nginx, rec, renew={"emergency_days": 11}, options={"freeze": "year-end"})
    result, summary = run(ctx)
    assert result.status == "changed", result.message
    assert served(nginx) != before
    [override] = rec.named("certificate.freeze_overridden")
    assert override["freeze"] == "year-end" and override["host"] == "local"
    assert summary["freeze_overridden"] == ["local"]
    assert rec.named("certificate.decision")[0]["freeze_overridden"] is True


def test_config_test_failure_restores_previous_files(estate: Path, pebble: Pebble, nginx: LocalNginx) -> None:
    before_cert, before_key = nginx.fullchain.read_bytes(), nginx.key.read_bytes()
    before = served(nginx)
    other_key = nginx.prefix / "ssl" / "other.key"
    rec = MemoryRecorder()
    # nginx keeps reading the old key: new certificate + old key fails `nginx -t`
    ctx = context(estate, pebble, nginx, rec, files={"fullchain": str(nginx.fullchain), "key": str(other_key)})
    result, _ = run(ctx)
    assert result.status == "failed" and "undone" in result.message
    assert nginx.fullchain.read_bytes() == before_cert and nginx.key.read_bytes() == before_key
    assert not other_key.exists()  # did not exist before the deploy: removed again
    assert served(nginx) == before
    assert rec.named("certificate.deploy_failed")


def test_endpoint_not_serving_new_certificate_is_rolled_back(estate: Path, pebble: Pebble,
                                                              nginx: LocalNginx) -> None:
    before_cert = nginx.fullchain.read_bytes()
    before = served(nginx)
    rec = MemoryRecorder()
    # the reload does nothing, so the old certificate stays served and verification fails
    result, summary = run(context(estate, pebble, nginx, rec, reload="true"))
    assert result.status == "failed" and "rolled back" in result.message, result.message
    assert [s.name for s in result.steps] == ["issue", "deploy", "verify", "rollback"]
    assert nginx.fullchain.read_bytes() == before_cert and served(nginx) == before
    assert summary["rolled_back"] == ["local"]
    assert rec.named("certificate.rolled_back")[0]["ok"] is True


def test_check_mode_changes_nothing(estate: Path, pebble: Pebble, nginx: LocalNginx) -> None:
    before = served(nginx)
    ctx = context(estate, pebble, nginx, MemoryRecorder())
    ctx.mode = "check"
    kind = CertificateRunner()
    assert kind.needs_change_record(ctx) is False
    kind.before(ctx)
    [result] = kind.run_batch(ctx, ctx.hosts)
    assert result.status == "ok" and result.message.startswith("would renew") and served(nginx) == before

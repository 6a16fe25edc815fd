"""The certificate kind in the lab: web1 and web2 (nginx in their own namespaces, reached over SSH with
host keys checked) get certificates from the lab's pebble through real HTTP-01 on port 80, deployed with
the real playbook, and the test checks over TLS (SNI webN.lab, pebble's root as the only trust) that
nginx serves them. Evidence goes to the real ledger and is read back from it."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from runner.catalogue.model import Catalogue, Inventory, Item, Location, Settings, Targets
from runner.engine.kind import HostResult, RunContext
from runner.kinds.certificate.runner import CertificateRunner

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
WEB = ("web1", "web2")
FILES = {"fullchain": "/etc/ssl/lab/server.crt", "key": "/etc/ssl/lab/server.key"}


@pytest.fixture(scope="module")
def web(lab: Any) -> Iterator[Any]:
    """Keep the lab's own certificates and put them back afterwards (other tests expect them)."""
    for h in WEB:
        lab.ssh(h, "cp -p /etc/ssl/lab/server.crt /etc/ssl/lab/server.crt.certs-test && "
                   "cp -p /etc/ssl/lab/server.key /etc/ssl/lab/server.key.certs-test")
    yield lab
    for h in WEB:
        lab.ssh(h, "mv /etc/ssl/lab/server.crt.certs-test /etc/ssl/lab/server.crt && "
                   "mv /etc/ssl/lab/server.key.certs-test /etc/ssl/lab/server.key && "
                   "rm -f /etc/ssl/lab/*.maintctl-prev /etc/ssl/lab/*.maintctl-new /etc/ssl/lab/other.key && "
                   "nginx -s reload", check=False)


@pytest.fixture()
def estate(tmp_path: Path, lab: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    root = tmp_path / "estate"
    root.mkdir()
    (root / "playbooks").symlink_to(REPO / "playbooks")
    (root / "trust.pem").write_bytes(Path(lab.info["acme"]["root_cert"]).read_bytes())
    return root


def served(lab: Any, host: str) -> x509.Certificate:
    """What nginx serves for webN.lab, verified against pebble's root only (independent of the kind)."""
    ctx = ssl.create_default_context(cafile=lab.info["acme"]["root_cert"])
    ctx.load_verify_locations(cafile=lab.info["tls"]["ca_cert"])  # the lab's original certificates
    with socket.create_connection((lab.address(host), 443), 5) as sock, \
            ctx.wrap_socket(sock, server_hostname=f"{host}.lab") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return x509.load_der_x509_certificate(der)


def from_pebble(lab: Any, cert: x509.Certificate) -> bool:
    root = x509.load_pem_x509_certificate(Path(lab.info["acme"]["root_cert"]).read_bytes())
    return "Pebble" in cert.issuer.rfc4514_string() and "Pebble" in root.subject.rfc4514_string()



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


def context(estate: Path, lab: Any, *, renew: dict[str, Any], files: dict[str, str] | None = None,
            options: dict[str, Any] | None = None) -> RunContext:
    from runner.evidence.recorder import open_recorder

    settings = {
        "names": ["{host}.lab"],
        "files": files or FILES,
        "service": {"test": "nginx -t", "reload": "nginx -s reload"},
        "trust": ["trust.pem"],
        "renew": renew,
        "acme": {"directory": lab.info["acme"]["directory_url"], "ca_bundle": lab.info["acme"]["api_ca_cert"],
                 "challenge": "http-01", "webroot": lab.info["tls"]["webroot_acme"], "email": "ops@example.org"},
    }
    item = Item(id="lab-web-certs", kind="certificate", targets=Targets(groups=("web",)), window="daily",
                expected_duration=timedelta(minutes=10), settings=settings,
                location=Location(file="maintenance/certs.yml", line=1, column=1))
    hostvars = {h: {"ansible_host": lab.address(h), "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(lab.ssh_key)} for h in WEB}
    cat = Catalogue(root=str(estate), windows={}, freezes=(), items=(item,),
                    inventory=Inventory(groups={"web": WEB}, hostvars=hostvars),
                    settings=Settings(ansible={"known_hosts": str(lab.known_hosts)}))
    rec = open_recorder(estate)
    bundle = rec.open_bundle(run_id="lab", item_id=item.id, occurrence="now", asked={"why": "test"})
    return RunContext(run_id="lab", item=item, catalogue=cat, estate_root=str(estate),
                      state_dir=short_state_dir(), occurrence="now", bundle_id=bundle, evidence=rec,
                      hosts=list(WEB), deadline=None, options={"inventory": str(lab.inventory), **(options or {})})


def run(ctx: RunContext) -> tuple[list[HostResult], dict[str, Any]]:
    kind = CertificateRunner()
    kind.before(ctx)
    results = kind.run_batch(ctx, ctx.hosts)
    summary = kind.after(ctx, results)
    ctx.evidence.close_bundle(ctx.bundle_id, outcome="succeeded", summary=summary)
    return results, summary


def events(ctx: RunContext, name: str) -> list[dict[str, Any]]:
    """Events of the run's bundle, read back from the ledger on disk."""
    from runner.evidence.query import bundle_records

    out = []
    for _n, rec in bundle_records(Path(ctx.estate_root) / ".maintctl" / "evidence", ctx.bundle_id):
        payload = rec.get("payload") or rec.get("data") or {}
        if isinstance(payload, dict) and payload.get("event") == name:
            out.append(payload["data"])
    return out


def ledger_text(ctx: RunContext) -> str:
    folder = Path(ctx.estate_root) / ".maintctl" / "evidence"
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


# Every lab certificate is "due" with these settings, whatever pebble's configured lifetime.
DUE = {"days": 100000, "emergency_days": 0}


def test_renew_deploy_and_serve_then_renew_again(web: Any, estate: Path) -> None:
    originals = {h: served(web, h) for h in WEB}
    ctx = context(estate, web, renew=DUE)
    results, summary = run(ctx)
    assert [r.status for r in results] == ["changed", "changed"], [r.message for r in results]
    first = {}
    for r in results:
        cert = served(web, r.host)
        assert from_pebble(web, cert) and cert != originals[r.host]
        assert format(cert.serial_number, "x") == r.data["serial"]
        first[r.host] = cert
    assert sorted(summary["renewed"]) == list(WEB)
    assert len(events(ctx, "certificate.issued")) == 2 and all(v["ok"] for v in events(ctx, "certificate.verified"))
    assert "PRIVATE KEY" not in ledger_text(ctx)
    for h in WEB:
        mode = web.ssh(h, "stat -c %a /etc/ssl/lab/server.key").stdout.strip()
        assert mode == "600"
        assert web.ssh(h, "ls /var/lib/maintctl/certs/lab-web-certs/").stdout.strip() == ""  # staged key gone

    # now web1 and web2 serve pebble certificates; the item renews those too
    ctx2 = context(estate, web, renew=DUE)
    results2, _ = run(ctx2)
    assert [r.status for r in results2] == ["changed", "changed"], [r.message for r in results2]
    for h in WEB:
        again = served(web, h)
        assert from_pebble(web, again) and again.serial_number != first[h].serial_number


def test_freeze_blocks_non_urgent_then_emergency_passes(web: Any, estate: Path) -> None:
    before = {h: served(web, h) for h in WEB}
    ctx = context(estate, web, renew=DUE, options={"freeze": "lab-freeze"})
    results, summary = run(ctx)
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert all("blocked by freeze 'lab-freeze'" in r.message for r in results)
    assert {h: served(web, h) for h in WEB} == before
    assert events(ctx, "certificate.freeze_overridden") == []

    urgent = {"days": 100000, "emergency_days": 100000}
    ctx = context(estate, web, renew=urgent, options={"freeze": "lab-freeze"})
    results, summary = run(ctx)
    assert [r.status for r in results] == ["changed", "changed"], [r.message for r in results]
    assert all(served(web, h) != before[h] for h in WEB)
    overrides = events(ctx, "certificate.freeze_overridden")
    assert sorted(o["host"] for o in overrides) == list(WEB) and overrides[0]["freeze"] == "lab-freeze"
    assert sorted(summary["freeze_overridden"]) == list(WEB)


def test_deploy_that_breaks_nginx_is_rolled_back(web: Any, estate: Path) -> None:
    before = {h: served(web, h) for h in WEB}
    crt_before = {h: web.ssh(h, "sha256sum /etc/ssl/lab/server.crt").stdout for h in WEB}
    # the key goes to a file nginx does not read: new certificate + old key makes `nginx -t` fail
    ctx = context(estate, web, renew=DUE, files={"fullchain": FILES["fullchain"], "key": "/etc/ssl/lab/other.key"})
    results, summary = run(ctx)
    assert [r.status for r in results] == ["failed", "failed"]
    assert all("undone" in r.message for r in results), [r.message for r in results]
    for h in WEB:
        assert served(web, h) == before[h]
        assert web.ssh(h, "sha256sum /etc/ssl/lab/server.crt").stdout == crt_before[h]
        assert web.ssh(h, "test -e /etc/ssl/lab/other.key", check=False).returncode != 0
        assert web.ssh(h, "nginx -t", check=False).returncode == 0
    assert len(events(ctx, "certificate.deploy_failed")) == 2
    assert json.dumps(summary)  # summary is plain data


def _cli_estate(tmp_path: Path, lab: Any, *, freeze_now: bool) -> Path:
    """A small estate of its own (catalogue, the lab's inventory, the product's playbooks)."""
    root = tmp_path / "cli-estate"
    (root / "maintenance").mkdir(parents=True)
    (root / "inventory").mkdir()
    (root / "playbooks").symlink_to(REPO / "playbooks")
    (root / "inventory" / "hosts.yml").write_text(Path(lab.inventory).read_text())
    acme = lab.info["acme"]
    (root / "maintenance" / "catalogue.yml").write_text(f"""
windows:
  daily:
    cron: "0 9 * * *"
    timezone: UTC
    duration: 1h
freezes:
  lab-freeze:
    reason: a freeze covering the test
    ranges:
      - start: "2000-01-01T00:00:00Z"
        end: "{'2100-01-01T00:00:00Z' if freeze_now else '2000-01-02T00:00:00Z'}"
items:
  - id: certs-lab
    kind: certificate
    emergency: {str(freeze_now).lower()}
    targets: {{groups: [web]}}
    window: daily
    expected_duration: 10m
    certificate:
      names: ["{{host}}.lab"]
      files: {{fullchain: {FILES['fullchain']}, key: {FILES['key']}}}
      trust: [{acme['root_cert']}, {lab.info['tls']['ca_cert']}]
      renew: {{days: 100000, emergency_days: 0}}
      acme:
        directory: {acme['directory_url']}
        ca_bundle: {acme['api_ca_cert']}
        webroot: {lab.info['tls']['webroot_acme']}
""")
    return root


_STATE: dict[Path, str] = {}


def _maintctl(root: Path, *args: str) -> Any:
    """Run the real command; one (short) state folder per estate, shared by its commands."""
    env = {**os.environ, "MAINTCTL_STATE_DIR": _STATE.setdefault(root, short_state_dir())}
    exe = Path(sys.executable).parent / "maintctl"
    return subprocess.run([str(exe), "--estate", str(root), *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_through_maintctl_run_and_certs_scan(web: Any, tmp_path: Path) -> None:
    before = {h: served(web, h) for h in WEB}
    root = _cli_estate(tmp_path, web, freeze_now=False)
    run = _maintctl(root, "run", "certs-lab", "--force", "--reason", "certificate e2e")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "change" in run.stdout and "succeeded" in run.stdout
    for h in WEB:
        now = served(web, h)
        assert from_pebble(web, now) and now != before[h]
    scan = _maintctl(root, "certs", "scan", "--json")  # endpoints over TLS, files over SSH
    assert scan.returncode == 0, scan.stdout + scan.stderr
    certs = json.loads(scan.stdout)["certificates"]
    assert [(c["source"], c["host"]) for c in certs] == [("endpoint", "web1"), ("endpoint", "web2"),
                                                         ("file", "web1"), ("file", "web2")]
    assert all(c["chain_valid"] and c["name_match"] and "Pebble" in c["cert"]["issuer"] for c in certs)
    assert certs[0]["cert"]["sha256"] == certs[2]["cert"]["sha256"]  # the file is what is served
    verify = _maintctl(root, "evidence", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    shown = _maintctl(root, "evidence", "list", "--json")
    assert shown.returncode == 0 and "certs-lab" in shown.stdout

    # A freeze: the engine runs the item only because it is marked emergency; the kind then holds back
    # every renewal that is not urgent, and no change record is opened for nothing.
    frozen = _cli_estate(tmp_path / "f", web, freeze_now=True)
    before = {h: served(web, h) for h in WEB}
    run = _maintctl(frozen, "run", "certs-lab", "--force", "--reason", "certificate e2e in a freeze")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("blocked by freeze 'lab-freeze'") == 2, run.stdout
    assert "change CHG" not in run.stdout
    assert {h: served(web, h) for h in WEB} == before

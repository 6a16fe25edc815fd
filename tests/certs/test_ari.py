"""ACME Renewal Information (RFC 9773). The pebble in Debian (2.4) has no ``renewalInfo``, so the ARI
resource is served here by a small HTTPS server with a directory that advertises it; everything on our
side (directory parsing, certificate id, window parsing, the decision) is the production code."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from certs_acme import free_port
from certs_pki import NOW, Issued, TLSServer, make_ca, make_leaf, server_context, tls_server
from memrecorder import MemoryRecorder

from runner.adapters.acme_client import AcmeClient, AcmeError, account_dir, load_or_create_account_key
from runner.catalogue.model import Catalogue, Inventory, Item, Targets
from runner.engine.kind import RunContext
from runner.kinds.certificate import x509info
from runner.kinds.certificate.runner import CertificateRunner


class AriServer:
    def __init__(self, tmp: Path, windows: dict[str, tuple[str, str]]) -> None:
        ca = make_ca("ARI test CA")
        tls = make_leaf(["127.0.0.1"], ca)
        (tmp / "ca.pem").write_bytes(ca.cert_pem)
        (tmp / "c.pem").write_bytes(tls.cert_pem)
        (tmp / "k.pem").write_bytes(tls.key_pem)
        self.ca_bundle = str(tmp / "ca.pem")
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.windows = windows
        self.asked: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/dir":
                    body: dict[str, Any] = {k: f"{server.base}/{k}" for k in ("newNonce", "newAccount", "newOrder")}
                    body["renewalInfo"] = f"{server.base}/renewal-info"
                elif self.path.startswith("/renewal-info/"):
                    cert_id = self.path.rsplit("/", 1)[1]
                    server.asked.append(cert_id)
                    if cert_id not in server.windows:
                        self.send_error(404)
                        return
                    start, end = server.windows[cert_id]
                    body = {"suggestedWindow": {"start": start, "end": end},
                            "explanationURL": "https://ca.example/why"}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Retry-After", "21600")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture()
def leaf() -> tuple[Issued, Issued]:
    root = make_ca("Served Root")
    return root, make_leaf(["ari.test"], root, not_before=NOW - timedelta(days=10), not_after=NOW + timedelta(days=80))


@pytest.fixture()
def endpoint(leaf: tuple[Issued, Issued]) -> Iterator[TLSServer]:
    with tls_server(server_context(leaf[1])) as srv:
        yield srv


def _iso(delta_days: float) -> str:
    return (NOW + timedelta(days=delta_days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_renewal_info_fetched_for_the_certificate_id(tmp_path: Path, leaf: tuple[Issued, Issued]) -> None:
    cert_id = x509info.ari_cert_id(leaf[1].cert)
    assert cert_id
    ari = AriServer(tmp_path, {cert_id: (_iso(1), _iso(2))})
    client = AcmeClient(f"{ari.base}/dir", load_or_create_account_key(account_dir(tmp_path, "x")),
                        ca_bundle=ari.ca_bundle)
    assert client.offers_renewal_info
    got = client.renewal_info(cert_id)
    assert got is not None
    start, end, why = got
    assert start.isoformat().startswith(_iso(1)[:19]) and end > start and why == "https://ca.example/why"
    with pytest.raises(AcmeError, match="renewal information"):
        client.renewal_info("unknown.id")
    ari.httpd.shutdown()


def _ctx(tmp_path: Path, ari: AriServer, port: int, trust: Path, ari_on: bool = True) -> RunContext:
    settings = {"names": ["ari.test"], "endpoint": {"address": "127.0.0.1", "port": port},
                "trust": [str(trust)], "renew": {"ari": ari_on},
                "acme": {"directory": f"{ari.base}/dir", "ca_bundle": ari.ca_bundle}}
    item = Item(id="ari", kind="certificate", targets=Targets(hosts=("h",)), window="w",
                expected_duration=timedelta(minutes=1), settings=settings)
    cat = Catalogue(root=str(tmp_path), windows={}, freezes=(), items=(item,),
                    inventory=Inventory(groups={"g": ("h",)}, hostvars={"h": {"ansible_connection": "local"}}))
    return RunContext(run_id="r", item=item, catalogue=cat, estate_root=str(tmp_path), state_dir=str(tmp_path),
                      occurrence="o", bundle_id="b", evidence=MemoryRecorder(), hosts=["h"], deadline=None,
                      mode="check")


@pytest.mark.parametrize(("window", "ari_on", "action"), [
    ((-1, 1), True, "renew"),  # the CA's window has started (and we renew at a random point in it)
    ((30, 31), True, "wait"),  # window later than now: wait, although the 1/3 rule also says wait
    ((-3, -2), True, "renew"),  # window passed: urgent
    ((-1, 1), False, "wait"),  # ARI switched off: only the lifetime rule counts
])
def test_runner_follows_the_cas_window(tmp_path: Path, leaf: tuple[Issued, Issued], endpoint: TLSServer,
                                       window: tuple[float, float], ari_on: bool, action: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAINTCTL_STATE_DIR", raising=False)
    cert_id = x509info.ari_cert_id(leaf[1].cert)
    assert cert_id
    ari = AriServer(tmp_path, {cert_id: (_iso(window[0]), _iso(window[1]))})
    trust = tmp_path / "root.pem"
    trust.write_bytes(leaf[0].cert_pem)
    kind = CertificateRunner()
    ctx = _ctx(tmp_path, ari, endpoint.port, trust, ari_on)
    kind.before(ctx)
    decision = kind.plans["h"].decision
    assert decision.action == action, decision.reasons
    assert ari.asked == ([cert_id] if ari_on else [])
    if action == "renew":
        assert any("renewal window" in r for r in decision.reasons)
        assert decision.urgent is (window[1] < 0)
    ari.httpd.shutdown()

"""A real pebble ACME server (with pebble-challtestsrv as its DNS) on 127.0.0.1 ports, and a webroot
served over HTTP for HTTP-01 validation."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from certs_pki import make_ca, make_leaf


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early: {proc.args}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


@dataclass
class Pebble:
    directory: str
    ca_bundle: str
    management: str  # pebble's management API (roots, intermediates)
    dns_management: str  # challtestsrv management API
    webroot: Path
    always_valid: bool

    def root_pem(self) -> bytes:
        import ssl
        import urllib.request

        ctx = ssl.create_default_context(cafile=self.ca_bundle)
        with urllib.request.urlopen(f"{self.management}/roots/0", context=ctx, timeout=10) as r:  # noqa: S310
            return bytes(r.read())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def start_pebble(tmp: Path, always_valid: bool) -> Iterator[Pebble]:
    ca = make_ca("maintctl test pebble HTTPS CA")
    tls = make_leaf(["localhost", "127.0.0.1"], ca)
    (tmp / "ca.pem").write_bytes(ca.cert_pem)
    (tmp / "cert.pem").write_bytes(tls.cert_pem)
    (tmp / "key.pem").write_bytes(tls.key_pem)
    webroot = tmp / "webroot"
    webroot.mkdir()
    dns, dns_mgmt, acme, acme_mgmt, http01, tlsport = (free_port() for _ in range(6))
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", http01), functools.partial(_QuietHandler, directory=str(webroot)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    config = {"pebble": {
        "listenAddress": f"127.0.0.1:{acme}", "managementListenAddress": f"127.0.0.1:{acme_mgmt}",
        "certificate": str(tmp / "cert.pem"), "privateKey": str(tmp / "key.pem"),
        "httpPort": http01, "tlsPort": tlsport, "ocspResponderURL": "",
        "externalAccountBindingRequired": False, "certificateValidityPeriod": 3600 * 24 * 7,
    }}
    (tmp / "pebble.json").write_text(json.dumps(config))
    srv = subprocess.Popen(
        ["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns}", "-http01", "", "-https01", "",
         "-tlsalpn01", "", "-management", f"127.0.0.1:{dns_mgmt}", "-defaultIPv4", "127.0.0.1",
         "-defaultIPv6", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
    if always_valid:
        env["PEBBLE_VA_ALWAYS_VALID"] = "1"
    log = open(tmp / "pebble.log", "wb")  # noqa: SIM115
    peb = subprocess.Popen(["pebble", "-config", str(tmp / "pebble.json"), "-dnsserver", f"127.0.0.1:{dns}"],
                           stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_port(dns_mgmt, srv)
        wait_port(acme, peb)
        yield Pebble(directory=f"https://127.0.0.1:{acme}/dir", ca_bundle=str(tmp / "ca.pem"),
                     management=f"https://127.0.0.1:{acme_mgmt}", dns_management=f"http://127.0.0.1:{dns_mgmt}",
                     webroot=webroot, always_valid=always_valid)
    finally:
        for p in (peb, srv):
            p.terminate()
            p.wait(10)
        log.close()
        httpd.shutdown()



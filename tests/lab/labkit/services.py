"""Shared services on the machine side of the lab network: DNS, the apt repository's HTTP server,
moto (AWS APIs) and pebble (ACME). All bind to the bridge address only."""
from __future__ import annotations

import json
import os
import ssl
import urllib.request

from .config import DOMAIN, GATEWAY, PORTS, REPO_ROOT, RUN_DIR, LabConfig
from .pki import CA_CERT, PKI_DIR
from .proc import LabError, is_lab_process, kill_pids, pid_alive, read_pid, spawn, wait_tcp
from .repo import REPO_DIR

SERVICES = ("dnsmasq", "repo-http", "moto", "pebble")
PEBBLE_DIR = RUN_DIR / "pebble"
PEBBLE_ROOT = PEBBLE_DIR / "root.pem"
PEBBLE_INTERMEDIATE = PEBBLE_DIR / "intermediate.pem"
MOTO_BIN = REPO_ROOT / ".venv/bin/moto_server"


def dns_records(cfg: LabConfig) -> list[str]:
    """dnsmasq --host-record values: every host as NAME.lab and NAME, the bridge as gw/repo/moto/pebble."""
    records = [f"gw.{DOMAIN},repo.{DOMAIN},moto.{DOMAIN},pebble.{DOMAIN},{GATEWAY}"]
    records += [f"{h.fqdn},{h.name},{h.address}" for h in cfg.hosts]
    return records


def start_dns(cfg: LabConfig) -> None:
    """dnsmasq answering for *.lab (and bare host names) on the bridge address, forwarding nothing.
    Records go on the command line: dnsmasq drops to `nobody`, which cannot read the 0700 run dir."""
    spawn("dnsmasq", ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                      "--no-hosts", f"--listen-address={GATEWAY}", "--bind-interfaces",
                      f"--port={PORTS['dns']}", f"--local=/{DOMAIN}/", "--domain-needed", "--log-facility=-",
                      "--user=nobody", "--pid-file", *[f"--host-record={r}" for r in dns_records(cfg)]])


def start_repo_http() -> None:
    spawn("repo-http", ["python3", "-m", "http.server", str(PORTS["repo"]), "--bind", GATEWAY,
                        "--directory", str(REPO_DIR)])


def start_moto() -> None:
    if not MOTO_BIN.exists():
        raise LabError(f"{MOTO_BIN} is missing: run `make install` first")
    spawn("moto", [str(MOTO_BIN), "-H", GATEWAY, "-p", str(PORTS["moto"])],
          env={"MOTO_ALLOW_NONEXISTENT_REGION": "true"})


def start_pebble(validity: int | None) -> None:
    """pebble with a TLS certificate from the lab CA, validating challenges on ports 80/443 through
    the lab DNS, never sleeping between validations and never rejecting nonces (deterministic tests)."""
    PEBBLE_DIR.mkdir(parents=True, exist_ok=True)
    conf: dict[str, object] = {
        "listenAddress": f"{GATEWAY}:{PORTS['pebble']}",
        "managementListenAddress": f"{GATEWAY}:{PORTS['pebble_mgmt']}",
        "certificate": str(PKI_DIR / "pebble.crt"), "privateKey": str(PKI_DIR / "pebble.key"),
        "httpPort": 80, "tlsPort": 443, "ocspResponderURL": "", "externalAccountBindingRequired": False,
    }
    if validity:
        conf["certificateValidityPeriod"] = validity
    (PEBBLE_DIR / "config.json").write_text(json.dumps({"pebble": conf}, indent=2))
    spawn("pebble", ["pebble", "-config", str(PEBBLE_DIR / "config.json"),
                     "-dnsserver", f"{GATEWAY}:{PORTS['dns']}"],
          env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}, cwd=PEBBLE_DIR)


def fetch_pebble_roots() -> None:
    """pebble makes a new root at every start: save it (and its intermediate) for tests and hosts."""
    ctx = ssl.create_default_context(cafile=str(CA_CERT))
    base = f"https://{GATEWAY}:{PORTS['pebble_mgmt']}"
    for url, dest in ((f"{base}/roots/0", PEBBLE_ROOT), (f"{base}/intermediates/0", PEBBLE_INTERMEDIATE)):
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:  # noqa: S310 - lab URL
            dest.write_bytes(resp.read())


def wait_ready(name: str, timeout: float) -> None:
    port = {"dnsmasq": PORTS["dns"], "repo-http": PORTS["repo"], "moto": PORTS["moto"],
            "pebble": PORTS["pebble"]}[name]
    if name == "dnsmasq":
        ok = _wait_dns(timeout)
    else:
        ok = wait_tcp(GATEWAY, port, timeout)
    if not ok:
        pid = read_pid(name)
        state = "running" if pid and pid_alive(pid) else "exited"
        raise LabError(f"{name} did not come up on {GATEWAY}:{port} ({state}); see {RUN_DIR}/logs/{name}.log")


def _wait_dns(timeout: float) -> bool:
    import socket
    import time
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02gw\x03lab\x00\x00\x01\x00\x01"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(query, (GATEWAY, PORTS["dns"]))
                reply = s.recv(512)
                if reply[:2] == b"\x12\x34" and reply[6:8] != b"\x00\x00":
                    return True
            except OSError:
                time.sleep(0.1)
    return False


def stop_all() -> None:
    pids = [p for p in (read_pid(n) for n in SERVICES) if p and is_lab_process(p)]
    kill_pids(pids, group=True)
    for name in SERVICES:
        try:
            os.unlink(RUN_DIR / "pids" / f"{name}.pid")
        except OSError:
            pass


def pebble_files() -> dict[str, str]:
    return {"root": str(PEBBLE_ROOT), "intermediate": str(PEBBLE_INTERMEDIATE)}


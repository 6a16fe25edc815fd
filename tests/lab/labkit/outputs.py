"""What the lab writes for its users: known_hosts, ssh_config, Ansible inventory, env and lab.json."""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

from .config import BRIDGE, GATEWAY, PORTS, PREFIXLEN, RUN_DIR, SUBNET, LabConfig
from .pki import CA_CERT, CLIENT_KEY

KNOWN_HOSTS = RUN_DIR / "known_hosts"
SSH_CONFIG = RUN_DIR / "ssh_config"
INVENTORY = RUN_DIR / "inventory.yml"
ENV_FILE = RUN_DIR / "env"
LAB_JSON = RUN_DIR / "lab.json"
PG_PASSWORD = RUN_DIR / "secrets" / "pg_app_password"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, mode)
    tmp.replace(path)


def known_hosts(cfg: LabConfig, host_keys: dict[str, str]) -> None:
    """One line per host: its key under its name, its .lab name and its address."""
    lines = []
    for h in cfg.hosts:
        keytype, key = host_keys[h.name].split()[:2]
        lines.append(f"{h.name},{h.fqdn},{h.address} {keytype} {key}")
    _write(KNOWN_HOSTS, "\n".join(lines) + "\n")


def ssh_config(cfg: LabConfig) -> None:
    """For OpenSSH (`ssh -F tests/lab/run/ssh_config web1`) and Fabric (Config(runtime_ssh_path=...))."""
    blocks = []
    for h in cfg.hosts:
        blocks.append(f"Host {h.name} {h.fqdn}\n    HostName {h.address}\n")
    blocks.append(
        f"Host {' '.join(cfg.names)} {' '.join(h.fqdn for h in cfg.hosts)} {SUBNET}.*\n"
        f"    User root\n    IdentityFile {CLIENT_KEY}\n    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {KNOWN_HOSTS}\n    GlobalKnownHostsFile /dev/null\n"
        f"    StrictHostKeyChecking yes\n    HostKeyAlgorithms ssh-ed25519\n    PasswordAuthentication no\n"
        f"    BatchMode yes\n    ConnectTimeout 10\n"
        # Connection sharing: tests run many short commands; a reboot ends the shared connection too.
        f"    ControlMaster auto\n    ControlPath {RUN_DIR}/cm/%C\n    ControlPersist 30s\n")
    (RUN_DIR / "cm").mkdir(mode=0o700, exist_ok=True)
    _write(SSH_CONFIG, "\n".join(blocks))


def inventory(cfg: LabConfig) -> None:
    """Ansible inventory for the running lab (any size), absolute paths; groups web, db, app and lab."""
    groups: dict[str, list[str]] = {"web": [], "db": [], "app": []}
    for h in cfg.hosts:
        for r in h.roles:
            groups[r].append(h.name)
    lines = ["# Written by tests/lab/lab.sh up for the running lab; do not edit.", "all:", "  vars:",
             "    ansible_user: root", "    ansible_python_interpreter: /usr/bin/python3",
             f"    ansible_ssh_private_key_file: {CLIENT_KEY}",
             f"    ansible_ssh_common_args: >-\n      -o UserKnownHostsFile={KNOWN_HOSTS}"
             " -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
             "  children:", "    lab:", "      hosts:"]
    for h in cfg.hosts:
        lines.append(f"        {h.name}:\n          ansible_host: {h.address}")
    for g, members in groups.items():
        if members:
            lines.append(f"    {g}:\n      hosts:")
            lines += [f"        {m}:" for m in members]
    _write(INVENTORY, "\n".join(lines) + "\n")


def lab_info(cfg: LabConfig, pebble: dict[str, str], validity: int | None) -> dict[str, Any]:
    """The machine-readable description of the running lab (tests/lab/run/lab.json)."""
    db = next((h for h in cfg.hosts if "db" in h.roles), None)
    return {
        "run_dir": str(RUN_DIR),
        "network": {"bridge": BRIDGE, "cidr": f"{SUBNET}.0/{PREFIXLEN}", "gateway": GATEWAY},
        "hosts": {h.name: {"address": h.address, "fqdn": h.fqdn, "roles": list(h.roles),
                           "services": list(h.services), "netns": h.netns} for h in cfg.hosts},
        "groups": {g: [h.name for h in cfg.hosts if g in h.roles] for g in ("web", "db", "app")},
        "ssh": {"user": "root", "port": 22, "private_key": str(CLIENT_KEY), "known_hosts": str(KNOWN_HOSTS),
                "config": str(SSH_CONFIG)},
        "inventory": str(INVENTORY),
        "repo": {"url": f"http://{GATEWAY}:{PORTS['repo']}/", "suites": ["bookworm", "bookworm-security"],
                 "security_suite": "bookworm-security", "origin": "maintctl-lab",
                 "packages": ["lab-tool", "lab-kernel", "lab-security", "lab-broken"],
                 "publish": str(RUN_DIR.parent / "publish.sh")},
        "aws": {"endpoint_url": f"http://{GATEWAY}:{PORTS['moto']}", "region": "us-east-1",
                "access_key_id": "testing", "secret_access_key": "testing"},
        "acme": {"directory_url": f"https://{GATEWAY}:{PORTS['pebble']}/dir",
                 "management_url": f"https://{GATEWAY}:{PORTS['pebble_mgmt']}",
                 "api_ca_cert": str(CA_CERT), "root_cert": pebble["root"],
                 "intermediate_cert": pebble["intermediate"], "host_root_path": "/etc/ssl/lab/pebble-root.crt",
                 "http_port": 80, "tls_port": 443,
                 "certificate_validity_seconds": validity, "dns_server": f"{GATEWAY}:{PORTS['dns']}"},
        "dns": {"server": GATEWAY, "port": PORTS["dns"], "domain": "lab"},
        "tls": {"ca_cert": str(CA_CERT), "cert_path": "/etc/ssl/lab/server.crt",
                "key_path": "/etc/ssl/lab/server.key", "host_ca_path": "/etc/ssl/lab/ca.crt",
                "port": 443, "webroot_acme": "/var/www/acme"},
        "postgres": None if db is None else {
            "host": db.name, "address": db.address, "port": 5432, "database": "appdb", "user": "app",
            "password_file": str(PG_PASSWORD), "table": "items", "rows": 1000,
            "version": 15, "cluster": "main", "data_dir": "/var/lib/postgresql/15/main"},
        "app": {"config": "/etc/app/app.conf", "data_dir": "/srv/app"},
        "reboot": {"command": "/usr/local/sbin/lab-reboot", "boot_id": "/run/lab-boot-id",
                   "boot_time_command": "cat /proc/sys/kernel/random/boot_id"},
    }


def env_file(cfg: LabConfig) -> None:
    """Shell variables for tests and the demo: `. tests/lab/run/env`."""
    env = {
        "LAB_JSON": str(LAB_JSON), "LAB_RUN_DIR": str(RUN_DIR), "LAB_HOSTS": " ".join(cfg.names),
        "LAB_SSH_KEY": str(CLIENT_KEY), "LAB_KNOWN_HOSTS": str(KNOWN_HOSTS), "LAB_SSH_CONFIG": str(SSH_CONFIG),
        "LAB_INVENTORY": str(INVENTORY), "LAB_REPO_URL": f"http://{GATEWAY}:{PORTS['repo']}/",
        "LAB_CA_CERT": str(CA_CERT),
        "LAB_ACME_DIRECTORY": f"https://{GATEWAY}:{PORTS['pebble']}/dir",
        "LAB_ACME_ROOT": str(RUN_DIR / "pebble" / "root.pem"),
        "AWS_ENDPOINT_URL": f"http://{GATEWAY}:{PORTS['moto']}", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    }
    _write(ENV_FILE, "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))


def write_all(cfg: LabConfig, host_keys: dict[str, str], pebble: dict[str, str], validity: int | None) -> None:
    known_hosts(cfg, host_keys)
    ssh_config(cfg)
    inventory(cfg)
    env_file(cfg)
    _write(LAB_JSON, json.dumps(lab_info(cfg, pebble, validity), indent=2) + "\n")

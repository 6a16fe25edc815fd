"""What tests get from the `lab` fixture: the running lab's description and helpers to act on it.

Read-only facts come from tests/lab/run/lab.json; actions go through the lab's own tools (OpenSSH with
the lab's ssh_config and known_hosts, nsenter via lab.sh, the repository publisher).
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import repo
from .config import LAB_DIR


@dataclass(frozen=True)
class Lab:
    """A running lab. `info` is lab.json; see tests/lab/README.md for its keys."""

    info: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Lab:
        return cls(info=json.loads(path.read_text()))

    @property
    def hosts(self) -> list[str]:
        return list(self.info["hosts"])

    def address(self, host: str) -> str:
        return str(self.info["hosts"][host]["address"])

    def group(self, name: str) -> list[str]:
        return list(self.info["groups"].get(name, []))

    @property
    def inventory(self) -> Path:
        return Path(self.info["inventory"])

    @property
    def known_hosts(self) -> Path:
        return Path(self.info["ssh"]["known_hosts"])

    @property
    def ssh_key(self) -> Path:
        return Path(self.info["ssh"]["private_key"])

    @property
    def ssh_config(self) -> Path:
        return Path(self.info["ssh"]["config"])

    def env(self) -> dict[str, str]:
        """Environment for tools under test: AWS_* pointing at moto, LAB_* paths and URLs."""
        aws, acme = self.info["aws"], self.info["acme"]
        run = Path(self.info["run_dir"])
        return {
            "AWS_ENDPOINT_URL": aws["endpoint_url"], "AWS_ACCESS_KEY_ID": aws["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": aws["secret_access_key"], "AWS_DEFAULT_REGION": aws["region"],
            "LAB_JSON": str(run / "lab.json"), "LAB_RUN_DIR": str(run), "LAB_HOSTS": " ".join(self.hosts),
            "LAB_SSH_KEY": str(self.ssh_key), "LAB_KNOWN_HOSTS": str(self.known_hosts),
            "LAB_SSH_CONFIG": str(self.ssh_config), "LAB_INVENTORY": str(self.inventory),
            "LAB_REPO_URL": self.info["repo"]["url"], "LAB_CA_CERT": self.info["tls"]["ca_cert"],
            "LAB_ACME_DIRECTORY": acme["directory_url"], "LAB_ACME_ROOT": acme["root_cert"],
        }

    def ssh(self, host: str, command: str, *, check: bool = True, timeout: float = 120,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Runs `command` on `host` over real SSH (OpenSSH, host key checked against the lab's known_hosts)."""
        proc = subprocess.run(["ssh", "-F", str(self.ssh_config), host, command], capture_output=True,
                              text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {host} {command!r} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def exec(self, host: str, argv: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Runs argv inside `host` without SSH (nsenter into its namespaces), for test set-up."""
        return subprocess.run(["bash", str(LAB_DIR / "lab.sh"), "exec", host, *argv], capture_output=True,
                              text=True, timeout=timeout)

    def publish(self, name: str, version: str, *, reboot: bool = False, fail: bool = False,
                security: bool = False, published: str | None = None) -> Path:
        """Publishes NAME VERSION to the lab's apt repository (hosts see it after apt-get update).
        `published` (e.g. "2026-01-31T12:00:00Z", default now) becomes the Lab-Published field."""
        return repo.publish(name, version, reboot=reboot, fail=fail, security=security, published=published)

    def reset_packages(self, hosts: list[str] | None = None) -> None:
        """Puts the lab packages back to their first-boot state (version 1.0, nothing half-installed,
        no reboot pending) on `hosts` (default all), for tests that need a known starting point."""
        pkgs = " ".join(f"{p}=1.0" for p in self.info["repo"]["packages"])
        script = ("export DEBIAN_FRONTEND=noninteractive; "
                  "dpkg --configure -a >/dev/null 2>&1 || true; "
                  "for p in $(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' 'lab-*' | "
                  "awk '$1 != \"ii\" && $1 != \"un\" {print $2}'); do dpkg --purge --force-all $p; done; "
                  f"apt-get update -q >/dev/null && apt-get install -y -q --allow-downgrades {pkgs} >/dev/null && "
                  "rm -f /var/run/reboot-required /var/run/reboot-required.pkgs")
        for host in hosts or self.hosts:
            self.ssh(host, script)

    def lab_sh(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Runs tests/lab/lab.sh (e.g. "restart-host", "web1"); raises on failure."""
        proc = subprocess.run(["bash", str(LAB_DIR / "lab.sh"), *args], capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"lab.sh {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

"""The lab's hosts answer real SSH with their own host keys, checked as production checks them."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import paramiko
import pytest
from fabric import Config, Connection
from labkit.config import INSTANCE
from labkit.handle import Lab

pytestmark = pytest.mark.lab
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def test_openssh_strict_host_key_checking_reaches_every_host(lab: Lab) -> None:
    for host in lab.hosts:
        out = lab.ssh(host, "hostname; cat /etc/lab/host.json").stdout
        assert out.splitlines()[0] == host
        assert f'"address": "{lab.address(host)}"' in out


def test_openssh_refuses_a_host_missing_from_known_hosts(lab: Lab, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts"
    lines = lab.known_hosts.read_text().splitlines()
    other.write_text("\n".join(line for line in lines if not line.startswith("web1,")) + "\n")
    # A fresh connection (-S none): a shared one would skip the host key exchange.
    proc = subprocess.run(["ssh", "-F", str(lab.ssh_config), "-S", "none", "-o", f"UserKnownHostsFile={other}",
                           "web1", "true"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr


def test_each_host_has_its_own_host_key(lab: Lab) -> None:
    keys = [line.split()[2] for line in lab.known_hosts.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == len(lab.hosts)
    for host, key in zip(lab.hosts, keys, strict=True):
        served = lab.ssh(host, "cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
        assert served == key


def _paramiko(lab: Lab, host: str, known_hosts: Path) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(lab.address(host), username="root", key_filename=str(lab.ssh_key),
                   look_for_keys=False, allow_agent=False, timeout=20)
    return client


def test_paramiko_with_reject_policy(lab: Lab) -> None:
    for host in lab.hosts:
        client = _paramiko(lab, host, lab.known_hosts)
        try:
            _, out, _ = client.exec_command("hostname")
            assert out.read().decode().strip() == host
        finally:
            client.close()


def test_paramiko_rejects_a_wrong_host_key(lab: Lab, tmp_path: Path) -> None:
    # web2's key recorded under web1's address: the client must refuse, not trust on first use.
    lines = {ln.split(",")[0]: ln for ln in lab.known_hosts.read_text().splitlines()}
    web2_key = lines["web2"].split(" ", 1)[1]
    bad = tmp_path / "known_hosts"
    bad.write_text(f"{lab.address('web1')} {web2_key}\n")
    with pytest.raises(paramiko.BadHostKeyException):
        _paramiko(lab, "web1", bad)


def test_fabric_connection(lab: Lab) -> None:
    conn = Connection(lab.address("db1"), user="root", config=Config(overrides={"load_ssh_configs": False}),
                      connect_kwargs={"key_filename": str(lab.ssh_key), "look_for_keys": False})
    conn.client.load_host_keys(str(lab.known_hosts))
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        assert conn.run("hostname", hide=True, in_stream=False).stdout.strip() == "db1"
    finally:
        conn.close()


# The static inventory describes the default lab; a separate LAB_INSTANCE has only the generated one.
@pytest.mark.parametrize("inventory", ["static", "generated"] if INSTANCE == 0 else ["generated"])
def test_ansible_reaches_the_lab_with_host_key_checking(lab: Lab, inventory: str) -> None:
    inv = Path(__file__).resolve().parents[2] / "inventory" / "hosts.yml" if inventory == "static" \
        else lab.inventory
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_HOST_KEY_CHECKING="True",
               ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(VENV_BIN / "ansible"), "-i", str(inv), "lab", "-m", "command", "-a", "hostname"],
                          capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for host in lab.hosts:
        assert f"{host} | CHANGED | rc=0 >>\n{host}" in proc.stdout

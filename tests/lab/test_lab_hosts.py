"""Each lab host has its own filesystem, packages and boot; nothing done inside one reaches the others
or the machine running the lab."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from labkit.handle import Lab

pytestmark = pytest.mark.lab
VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def boot_id(lab: Lab, host: str) -> str:
    return lab.ssh(host, "cat /proc/sys/kernel/random/boot_id").stdout.strip()


def wait_boot(lab: Lab, host: str, old: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = lab.ssh(host, "cat /proc/sys/kernel/random/boot_id", check=False, timeout=20)
        if proc.returncode == 0 and proc.stdout.strip() not in ("", old):
            return proc.stdout.strip()
        time.sleep(0.5)
    raise AssertionError(f"{host} did not come back with a new boot id")


def test_a_change_on_one_host_is_invisible_elsewhere(lab: Lab) -> None:
    marker = f"changed-{uuid.uuid4().hex}"
    lab.ssh("web1", f"echo {marker} >> /etc/app/app.conf; echo {marker} > /srv/app/{marker}")
    try:
        assert marker in lab.ssh("web1", "cat /etc/app/app.conf").stdout
        for host in lab.hosts:
            if host != "web1":
                assert marker not in lab.ssh(host, "cat /etc/app/app.conf").stdout
                assert lab.ssh(host, f"test -e /srv/app/{marker}", check=False).returncode == 1
        assert marker not in Path("/etc/app/app.conf").read_text() if Path("/etc/app/app.conf").exists() \
            else True
        assert not Path(f"/srv/app/{marker}").exists()
    finally:
        lab.ssh("web1", f"sed -i '/{marker}/d' /etc/app/app.conf; rm -f /srv/app/{marker}")


def test_hosts_do_not_see_the_machines_secrets_or_checkout(lab: Lab) -> None:
    out = lab.ssh("web2", "ls -A /work /root/.ssh; ls /etc/ssh").stdout
    assert "main" not in out.split()
    assert "authorized_keys" in out
    assert "ssh_host_rsa_key" not in out


def test_apt_sees_a_newly_published_version_on_one_host_only(lab: Lab) -> None:
    name = f"lab-selftest-{uuid.uuid4().hex[:8]}"
    lab.publish(name, "1.0")
    lab.ssh("web1", f"apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {name}")
    lab.publish(name, "1.1", published="2026-01-31T12:00:00Z")
    policy = lab.ssh("web1", f"apt-get update -q >/dev/null && apt-cache policy {name}").stdout
    assert "Installed: 1.0" in policy and "Candidate: 1.1" in policy
    show = lab.ssh("web1", f"apt-cache show {name}=1.1").stdout
    assert "Lab-Published: 2026-01-31T12:00:00Z" in show
    lab.ssh("web1", f"DEBIAN_FRONTEND=noninteractive apt-get install -y -q {name}")
    assert lab.ssh("web1", name).stdout.strip() == f"{name} 1.1"
    assert lab.ssh("web2", f"dpkg-query -W {name}", check=False).returncode != 0


def test_security_suite_and_failing_package(lab: Lab) -> None:
    sec = f"lab-selftest-sec-{uuid.uuid4().hex[:6]}"
    lab.publish(sec, "1.0")
    lab.publish(sec, "1.1", security=True)
    policy = lab.ssh("web2", f"apt-get update -q >/dev/null && apt-cache policy {sec}").stdout
    assert "bookworm-security/main" in policy and "Candidate: 1.1" in policy
    broken = f"lab-selftest-broken-{uuid.uuid4().hex[:6]}"
    lab.publish(broken, "1.0", fail=True)
    proc = lab.ssh("web2", f"apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive "
                           f"apt-get install -y -q {broken}", check=False)
    assert proc.returncode != 0
    assert "postinst fails on purpose" in proc.stdout + proc.stderr
    state = lab.ssh("web2", f"dpkg-query -W -f='${{db:Status-Abbrev}}' {broken}").stdout
    assert state.startswith("iF")
    lab.ssh("web2", "touch /var/run/reboot-required")
    lab.reset_packages(["web2"])
    states = lab.ssh("web2", "dpkg-query -W -f='${db:Status-Abbrev}${Package}=${Version}\\n' 'lab-*'").stdout
    assert all(line.startswith("ii ") or line.startswith("un ") for line in states.splitlines()), states
    assert "ii lab-tool=1.0" in states and broken not in states.replace(f"un {broken}", "")
    assert lab.ssh("web2", "test -e /var/run/reboot-required", check=False).returncode == 1


def test_reboot_flag_and_ansible_reboot_restart_only_that_host(lab: Lab, tmp_path: Path) -> None:
    name = f"lab-selftest-kern-{uuid.uuid4().hex[:6]}"
    lab.publish(name, "1.0", reboot=True)
    lab.ssh("web2", f"apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {name}")
    assert name in lab.ssh("web2", "cat /var/run/reboot-required.pkgs").stdout
    before = {h: boot_id(lab, h) for h in lab.hosts}
    machine_boot = Path("/proc/sys/kernel/random/boot_id").read_text()
    playbook = tmp_path / "reboot.yml"
    playbook.write_text("- hosts: web2\n  gather_facts: false\n  tasks:\n    - ansible.builtin.reboot:\n"
                        "        reboot_timeout: 120\n")
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(lab.inventory), str(playbook)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = {h: boot_id(lab, h) for h in lab.hosts}
    assert after["web2"] != before["web2"]
    assert {h: v for h, v in after.items() if h != "web2"} == {h: v for h, v in before.items() if h != "web2"}
    assert Path("/proc/sys/kernel/random/boot_id").read_text() == machine_boot
    assert lab.ssh("web2", "test -e /var/run/reboot-required", check=False).returncode == 1
    assert lab.ssh("web2", "pgrep -x nginx >/dev/null && echo up").stdout.strip() == "up"
    lab.ssh("web2", f"dpkg --purge {name}")


@pytest.mark.parametrize("command", ["reboot", "shutdown -r now", "systemctl reboot", "init 6"])
def test_power_commands_inside_a_host_reboot_only_that_host(lab: Lab, command: str) -> None:
    old = boot_id(lab, "web1")
    others = {h: boot_id(lab, h) for h in lab.hosts if h != "web1"}
    machine_boot = Path("/proc/sys/kernel/random/boot_id").read_text()
    lab.ssh("web1", f"{command} </dev/null >/dev/null 2>&1 &", check=False, timeout=30)
    wait_boot(lab, "web1", old)
    assert {h: boot_id(lab, h) for h in others} == others
    assert Path("/proc/sys/kernel/random/boot_id").read_text() == machine_boot


RAW_REBOOT = """
import ctypes, os, sys
if os.readlink('/proc/self/ns/pid') == sys.argv[1]:
    sys.exit(3)  # in the machine's PID namespace: never call reboot(2) there
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.reboot(0x01234567)  # LINUX_REBOOT_CMD_RESTART
print(rc, os.strerror(ctypes.get_errno()))
"""


def test_raw_reboot_syscall_is_refused_inside_a_host(lab: Lab) -> None:
    machine_boot = Path("/proc/sys/kernel/random/boot_id").read_text()
    old = boot_id(lab, "web2")
    machine_pidns = os.readlink("/proc/self/ns/pid")
    out = lab.ssh("web2", f"python3 - '{machine_pidns}'", input=RAW_REBOOT).stdout.strip()
    assert out == "-1 Operation not permitted"
    assert boot_id(lab, "web2") == old
    assert Path("/proc/sys/kernel/random/boot_id").read_text() == machine_boot


def test_kernel_interfaces_of_the_machine_are_out_of_reach(lab: Lab) -> None:
    before = time.time()
    proc = lab.ssh("db1", "date -s '2001-01-01 00:00:00'", check=False)
    assert proc.returncode != 0
    assert abs(time.time() - before) < 60
    assert lab.ssh("db1", "echo 1 > /proc/sys/net/ipv4/ip_forward", check=False).returncode != 0
    # Where the kernel has it, sysrq-trigger is masked by /dev/null inside hosts.
    sysrq = lab.ssh("db1", "test ! -e /proc/sysrq-trigger || findmnt -n -o SOURCE /proc/sysrq-trigger").stdout
    assert sysrq.strip() in ("", "devtmpfs[/null]")
    assert lab.ssh("db1", "modprobe dummy", check=False).returncode != 0


def test_poweroff_then_start_host_keeps_its_disk(lab: Lab) -> None:
    marker = uuid.uuid4().hex
    lab.ssh("db1", f"echo {marker} > /var/lib/lab/marker")
    lab.ssh("db1", "poweroff", check=False, timeout=30)
    deadline = time.monotonic() + 30
    while lab.ssh("db1", "true", check=False, timeout=10).returncode == 0:
        assert time.monotonic() < deadline, "db1 did not power off"
        time.sleep(0.5)
    lab.lab_sh("start-host", "db1")
    assert lab.ssh("db1", "cat /var/lib/lab/marker").stdout.strip() == marker
    count = lab.ssh("db1", "cd / && su postgres -c \"psql -tAc 'select count(*) from items' appdb\"")
    assert count.stdout.strip() == "1000"

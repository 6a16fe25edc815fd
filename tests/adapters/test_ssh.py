"""The SSH adapter against a real sshd: results, failures and host key checking."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.adapters.ssh import CommandFailed, Result, SSHTarget, known_hosts_path, run_command
from runner.errors import AdapterError

from .conftest import Sshd


def target(sshd: Sshd, known_hosts: Path | None = None) -> SSHTarget:
    return SSHTarget.from_hostvars(
        "local1",
        {"ansible_host": "127.0.0.1", "ansible_port": sshd.port, "ansible_user": "root",
         "ansible_ssh_private_key_file": str(sshd.key_file)},
        known_hosts or sshd.known_hosts,
    )


def test_command_result(sshd: Sshd) -> None:
    r = run_command(target(sshd), "echo out; echo err >&2; hostname")
    assert r.ok and not r.failed and r.exited == 0
    assert r.stdout.startswith("out\n") and r.stderr == "err\n"
    assert r.tail(1, "stdout").strip() != "out"


def test_failure_raises_with_result(sshd: Sshd) -> None:
    with pytest.raises(CommandFailed) as info:
        run_command(target(sshd), "echo nope >&2; exit 3")
    assert info.value.result.exited == 3 and "nope" in str(info.value)
    r = run_command(target(sshd), "exit 4", check=False)
    assert r.failed and r.exited == 4


def test_timeout(sshd: Sshd) -> None:
    with pytest.raises(CommandFailed, match="timed out"):
        run_command(target(sshd), "sleep 5", timeout=1)


def test_timeout_when_invoke_misses_its_own_timer(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a loaded machine Invoke's run can return before its timer thread ends: it then reports the
    closed channel's exit -1, not a timeout. Forced here."""
    from invoke.runners import Runner

    monkeypatch.setattr(Runner, "timed_out", property(lambda self: False))
    with pytest.raises(CommandFailed, match="timed out after 1s") as info:
        run_command(target(sshd), "sleep 5", timeout=1)
    assert info.value.result.exited == -1


def test_unknown_host_key_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    empty = tmp_path / "kh"
    empty.write_text("")
    with pytest.raises(AdapterError, match="SSH failed|not found"):
        run_command(target(sshd, empty), "true")


def test_changed_host_key_is_refused(sshd: Sshd) -> None:
    with pytest.raises(AdapterError, match="does not match"):
        run_command(target(sshd, sshd.other_known_hosts), "true")


def test_missing_known_hosts_file(sshd: Sshd, tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="does not exist"):
        run_command(target(sshd, tmp_path / "none"), "true")


def test_result_tail() -> None:
    r = Result(host="h", command="c", exited=1, stdout="a\nb\nc\n", stderr="e\n")
    assert r.tail(2) == "c\ne" and r.tail(1, "stdout") == "c"


def test_known_hosts_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAINTCTL_KNOWN_HOSTS", raising=False)
    assert known_hosts_path(tmp_path, {}) == Path.home() / ".ssh" / "known_hosts"
    assert known_hosts_path(tmp_path, {"known_hosts": "kh"}) == tmp_path / "kh"
    monkeypatch.setenv("MAINTCTL_KNOWN_HOSTS", "/x/kh")
    assert known_hosts_path(tmp_path, {"known_hosts": "kh"}) == Path("/x/kh")

"""Command checks run over SSH on each host of the batch."""

from __future__ import annotations

from runner.adapters.ssh import SSHTarget
from runner.catalogue.model import Check
from runner.engine.checks import run_checks

from .conftest import Sshd


def test_command_check_over_ssh(sshd: Sshd) -> None:
    def target_for(host: str) -> SSHTarget:
        return SSHTarget(name=host, address="127.0.0.1", port=sshd.port, key_file=str(sshd.key_file),
                         known_hosts=sshd.known_hosts)

    ok, bad = run_checks([Check(kind="command", command="test -d /etc"),
                          Check(kind="command", command="echo gone >&2; test -e /nonexistent")],
                         ["h1"], target_for)
    assert ok.ok and ok.host == "h1"
    assert not bad.ok and "gone" in bad.detail
    other = run_checks([Check(kind="command", command="true")], ["h1"],
                       lambda h: SSHTarget(name=h, address="127.0.0.1", port=sshd.port,
                                           key_file=str(sshd.key_file), known_hosts=sshd.other_known_hosts))
    assert not other[0].ok and "does not match" in other[0].detail

"""ansible-runner options shared by every playbook run, and the spawn class without the close delay."""

from __future__ import annotations

from pathlib import Path

import pexpect

from runner.adapters.ansible import PlaybookSpec, run_playbook
from runner.adapters.ansible_proc import runner_options, without_close_delay

FACTS = """
- hosts: all
  gather_facts: true
  gather_subset: ["!all", "!min", "python"]
  tasks:
    - name: python
      debug: {msg: "{{ ansible_facts.python.version.major }}"}
"""


def test_spawn_class_is_installed_for_ansible_runner_only() -> None:
    import ansible_runner.runner as rr

    assert without_close_delay() is True  # the pinned ansible-runner has the layout we rely on
    assert rr.pexpect.spawn is not pexpect.spawn and issubclass(rr.pexpect.spawn, pexpect.spawn)
    assert rr.pexpect.EOF is pexpect.EOF and rr.pexpect.TIMEOUT is pexpect.TIMEOUT
    assert pexpect.spawn.__module__ == "pexpect.pty_spawn"  # everyone else keeps pexpect as it is


def test_reaped_child_closes_without_delay_live_child_as_before() -> None:
    import ansible_runner.runner as rr

    without_close_delay()
    done = rr.pexpect.spawn("true", encoding="utf-8")
    done.expect(pexpect.EOF)
    while done.isalive():  # as ansible-runner does before it closes: the child is reaped here
        done.expect(pexpect.EOF)
    done.close()
    assert done.ptyproc.delayafterclose == 0 and done.exitstatus == 0

    live = rr.pexpect.spawn("sleep", ["30"], encoding="utf-8")
    live.close(force=True)  # still running: pexpect's own wait-then-terminate path
    assert live.ptyproc.delayafterclose == 0.1 and not live.isalive() and live.signalstatus is not None


def test_facts_are_not_written_to_a_file_cache(tmp_path: Path) -> None:
    assert runner_options()["fact_cache_type"] == "memory"
    (tmp_path / "pb.yml").write_text(FACTS)
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    l1: {ansible_connection: local}\n")
    data = tmp_path / "run"
    res = run_playbook(PlaybookSpec(playbook=tmp_path / "pb.yml", inventory=tmp_path / "inv.yml", hosts=["l1"]),
                       data_dir=data)
    assert res.ok and res.hosts["l1"].steps[-1].data["msg"] == 3
    # ansible-runner's default (jsonfile) leaves one JSON file per host here; nothing would read it
    assert not list(data.rglob("fact_cache*"))

"""The Ansible session: one ansible-playbook process runs lead plays, then a gated play batch by batch.

Real Ansible on local-connection hosts (the gated task appends to a log shared by all "hosts", so the
order in which batches ran is visible); the engine's side is driven by hand as the patch kind does.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.adapters.ansible import PlaybookSpec
from runner.adapters.ansible_session import Go, PlaybookSession, Skip
from runner.engine.kind import StepResult
from runner.errors import AdapterError

from .exit_probe import marks, probe_ansible_playbook

HOSTS = ["a", "b", "c", "d"]

LEAD = """
- name: lead
  hosts: all
  gather_facts: false
  tasks:
    - name: "capture: lead"
      ansible.builtin.command: "echo lead-{{ inventory_hostname }}"
      failed_when: inventory_hostname in (fail_lead | default([]))
"""

GATED = """
- name: gated
  hosts: "{{ maintctl_order | default('all') }}"
  serial: "{{ maintctl_serial | default(0) }}"
  gather_facts: false
  vars:
    maintctl_gate: true
  tasks:
    - name: work
      ansible.builtin.shell: >-
        echo {{ inventory_hostname }}={{ maintctl_batch.vars.word }} >> {{ log }};
        sleep {{ maintctl_batch.vars.sleep | default(0) }}
    - name: fail on demand
      ansible.builtin.command: "false"
      when: maintctl_batch.vars.fail | default(false)
"""


@pytest.fixture
def pb(tmp_path: Path) -> Iterator[dict[str, Any]]:
    inv = tmp_path / "hosts.ini"
    inv.write_text("[all]\n" + "\n".join(f"{h} ansible_connection=local" for h in HOSTS)
                   + "\n[all:vars]\nansible_python_interpreter=/usr/bin/python3\n")
    (tmp_path / "lead.yml").write_text(LEAD)
    (tmp_path / "gated.yml").write_text(GATED)
    yield {"inv": inv, "lead": tmp_path / "lead.yml", "gated": tmp_path / "gated.yml", "log": tmp_path / "work.log",
           "tmp": tmp_path}


def session(pb: dict[str, Any], batches: list[tuple[str, ...]], *, extra: dict[str, Any] | None = None,
            on_step: Any = None, cancel: Any = None, lead: bool = True, strategy: str = "linear") -> PlaybookSession:
    counter = iter(range(1, 100))
    spec = PlaybookSpec(playbook=pb["gated"], inventory=pb["inv"], hosts=HOSTS, forks=5, strategy=strategy,
                        extravars={"log": str(pb["log"]), **(extra or {})})
    return PlaybookSession(spec, lead=[pb["lead"]] if lead else [], batches=batches,
                           data_dir=lambda label: pb["tmp"] / "runs" / f"{next(counter):02d}-{label}",
                           on_step=on_step, cancel=cancel)


def leftovers(pb: dict[str, Any]) -> list[str]:
    """Processes of this test's playbooks still running (their command lines name its folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if str(pb["tmp"]) in cmd and state != "Z":
            found.append(cmd)
    return found


def ran(pb: dict[str, Any]) -> list[str]:
    path: Path = pb["log"]
    return path.read_text().split() if path.exists() else []


@pytest.mark.parametrize("strategy", ["linear", "free"])
def test_batches_run_in_the_engines_order_in_one_process(pb: dict[str, Any], strategy: str) -> None:
    steps: list[tuple[str, str, int]] = []

    def on_step(host: str, step: StepResult) -> None:
        steps.append((host, step.name, threading.get_ident()))

    batches = [("c",), ("a", "b"), ("d",)]  # not the inventory's order
    s = session(pb, batches, on_step=on_step, strategy=strategy)
    with s:
        s.start()
        lead = s.wait_lead()
        assert {h: r.status for h, r in lead.hosts.items()} == dict.fromkeys(HOSTS, "changed")
        assert ran(pb) == [], "no batch may start before the engine opens it"
        for index, hosts in enumerate(batches):
            decisions: dict[str, Go | Skip] = {h: Go({"word": f"w{index}"}) for h in hosts}
            if "b" in hosts:
                decisions["b"] = Skip("protection failed")
            s.open_batch(index, decisions)
            result = s.wait_batch(index)
            assert set(result.hosts) == set(hosts)
            assert all(r.status == ("not_started" if h == "b" else "changed") for h, r in result.hosts.items())
            assert len(ran(pb)) == [1, 2, 3][index], "the batch was complete when wait_batch returned"
    assert ran(pb) == ["c=w0", "a=w1", "d=w2"]
    assert len(s.logs()) == 1, "one ansible-playbook process for the whole rollout"
    assert {name for _h, name, _t in steps} == {"capture: lead", "work", "fail on demand"}, "the gate spends no task"
    stdout = s.logs()[0][1].decode()
    assert stdout.count("TASK [work]") == 3, "one task per batch: nothing of the gate's"
    assert {t for _h, _n, t in steps} == {threading.get_ident()}, "steps reach the caller in its own thread"


def _lead_writes(pb: dict[str, Any]) -> None:
    """Make the lead play leave a mark in the work log, so any task before the batches shows."""
    pb["lead"].write_text(LEAD.replace('"echo lead-{{ inventory_hostname }}"',
                                       '"sh -c \'echo lead-{{ inventory_hostname }} >> {{ log }}\'"'))


def _wait_for_play_banner(s: PlaybookSession, timeout: float = 60) -> None:
    """Until ansible-playbook printed its first play's banner: it is loaded and at its start gate."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = s._procs[0].data_dir / "artifacts" / "run" / "stdout"
        if out.exists() and b"PLAY [lead]" in out.read_bytes():
            return
        time.sleep(0.1)
    raise AssertionError("ansible-playbook never started its first play")


def test_a_held_session_runs_nothing_until_released(pb: dict[str, Any]) -> None:
    _lead_writes(pb)
    steps: list[str] = []
    with session(pb, [("a", "b")]) as s:
        s.start(held=True)
        _wait_for_play_banner(s)
        time.sleep(2)  # ample for the lead task to run, were the session not held
        assert ran(pb) == [], "a held session ran a task before its release"
        s.release(on_step=lambda h, st: steps.append(f"{h}:{st.name}"))
        lead = s.wait_lead()
        assert {r.status for r in lead.hosts.values()} == {"changed"}
        s.open_batch(0, {"a": Go({"word": "x"}), "b": Go({"word": "x"})})
        s.wait_batch(0)
    assert sorted(ran(pb)) == ["a=x", "b=x", "lead-a", "lead-b"], "the session's hosts are its batches' hosts"
    assert "a:capture: lead" in steps, "after release, steps reach the callback given to release"
    assert len(s.logs()) == 1


def test_closing_a_held_session_stops_it_before_any_task(pb: dict[str, Any]) -> None:
    _lead_writes(pb)
    s = session(pb, [("a",)])
    s.start(held=True)
    _wait_for_play_banner(s)
    started = time.monotonic()
    s.close()
    assert time.monotonic() - started < 10
    assert ran(pb) == []
    assert leftovers(pb) == []
    assert "maintctl did not start this run" in s.logs()[0][1].decode()


def test_closing_a_held_session_still_loading_stops_it_too(pb: dict[str, Any]) -> None:
    _lead_writes(pb)
    s = session(pb, [("a",)])
    s.start(held=True)
    s.close()  # at once: ansible-playbook has not reached its start gate yet
    assert ran(pb) == []
    assert leftovers(pb) == []


def test_skipped_host_has_no_work(pb: dict[str, Any]) -> None:
    with session(pb, [("a", "b")]) as s:
        s.start()
        s.wait_lead()
        s.open_batch(0, {"a": Go({"word": "x"}), "b": Skip("no")})
        result = s.wait_batch(0)
    assert result.hosts["a"].status == "changed"
    assert result.hosts["b"].status == "not_started" and not result.hosts["b"].steps
    assert ran(pb) == ["a=x"]


def test_close_stops_the_play_at_the_next_gate(pb: dict[str, Any]) -> None:
    s = session(pb, [("a",), ("b",), ("c", "d")])
    s.start()
    s.wait_lead()
    s.open_batch(0, {"a": Go({"word": "x"})})
    s.wait_batch(0)
    started = time.monotonic()
    s.close()  # the engine halted: batch 2 and 3 never start
    assert time.monotonic() - started < 10
    assert ran(pb) == ["a=x"]
    proc = s._procs[0]
    assert proc.ended and proc.thread is not None and not proc.thread.is_alive()
    assert proc.status == "successful", "end_play ends the rollout cleanly"


def test_a_sessions_ansible_playbook_ends_without_teardown(pb: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    log = probe_ansible_playbook(pb["tmp"], monkeypatch)
    with session(pb, [("a", "b")]) as s:
        s.start()
        s.wait_lead()
        s.open_batch(0, {"a": Go({"word": "x"}), "b": Go({"word": "x", "fail": True})})
        result = s.wait_batch(0)
    assert {h: r.status for h, r in result.hosts.items()} == {"a": "changed", "b": "failed"}
    assert marks(log) == ["atexit"], "Ansible's atexit handlers ran, the interpreter's teardown did not"
    assert s._procs[0].ended and s._procs[0].rc == 2, "Ansible's own exit status"


def test_a_whole_failed_batch_ends_ansibles_play_and_the_session_goes_on(pb: dict[str, Any]) -> None:
    with session(pb, [("a",), ("b", "c")]) as s:
        s.start()
        s.wait_lead()
        s.open_batch(0, {"a": Go({"word": "x", "fail": True})})
        first = s.wait_batch(0)
        assert first.hosts["a"].status == "failed"
        s.open_batch(1, {"b": Go({"word": "y"}), "c": Go({"word": "y"})})  # max_errors tolerated it
        second = s.wait_batch(1)
    assert {h: r.status for h, r in second.hosts.items()} == {"b": "changed", "c": "changed"}
    assert sorted(ran(pb)) == ["a=x", "b=y", "c=y"]
    assert len(s.logs()) == 2, "Ansible ended its play; the rest ran in a second process"


def test_hosts_failing_a_lead_play_never_reach_the_gate(pb: dict[str, Any]) -> None:
    with session(pb, [("a", "b")], extra={"fail_lead": ["a"]}) as s:
        s.start()
        lead = s.wait_lead()
        assert lead.hosts["a"].failed and not lead.hosts["b"].failed
        s.open_batch(0, {"a": Skip("not scanned"), "b": Go({"word": "x"})})
        result = s.wait_batch(0)
    assert result.hosts["b"].status == "changed"
    assert ran(pb) == ["b=x"]


def test_cancel_during_a_batch_marks_started_hosts_partially_applied(pb: dict[str, Any]) -> None:
    flag = threading.Event()
    with session(pb, [("a",), ("b",)], cancel=flag.is_set) as s:
        s.start()
        s.wait_lead()
        s.open_batch(0, {"a": Go({"word": "x", "sleep": 30})})
        threading.Timer(3, flag.set).start()
        started = time.monotonic()
        result = s.wait_batch(0)
        assert time.monotonic() - started < 20
    a = result.hosts["a"]
    assert result.status == "canceled"
    assert leftovers(pb) == [], "cancelling must stop Ansible's workers too, not only ansible-playbook"
    assert a.status == "failed" and "partially applied" in a.message, a
    assert ran(pb) == ["a=x"]


def test_batch_timeout_kills_the_batch(pb: dict[str, Any]) -> None:
    counter = iter(range(1, 100))
    spec = PlaybookSpec(playbook=pb["gated"], inventory=pb["inv"], hosts=HOSTS, forks=5, timeout=2,
                        extravars={"log": str(pb["log"])})
    with PlaybookSession(spec, batches=[("a",)], data_dir=lambda label: pb["tmp"] / f"{next(counter)}-{label}") as s:
        s.start()
        s.wait_lead()
        s.open_batch(0, {"a": Go({"word": "x", "sleep": 30})})
        result = s.wait_batch(0)
    assert result.status == "timeout"
    assert result.hosts["a"].failed
    assert leftovers(pb) == []


@pytest.mark.parametrize(("text", "why"), [
    ("- hosts: all\n  tasks: []\n", "vars must say maintctl_gate: true"),
    (GATED + GATED, "exactly one play"),
    (GATED.replace("gather_facts: false", "strategy: free"), "must not choose a strategy"),
    (GATED.replace("serial:", "throttle:"), "serial '{{ maintctl_serial }}'"),
    ("- [unclosed\n", "cannot read it"),
])
def test_a_playbook_the_gate_cannot_drive_is_refused(pb: dict[str, Any], text: str, why: str) -> None:
    plain = pb["tmp"] / "plain.yml"
    plain.write_text(text)
    spec = PlaybookSpec(playbook=plain, inventory=pb["inv"], hosts=HOSTS)
    with pytest.raises(AdapterError, match=r"plain.yml: this playbook cannot run as a session: .*" + re.escape(why)):
        PlaybookSession(spec, batches=[("a",)], data_dir=lambda label: pb["tmp"] / label)


def test_nothing_runs_when_the_engine_cannot_be_asked(pb: dict[str, Any]) -> None:
    with session(pb, [("a", "b")]) as s:
        s.start()
        s.wait_lead()
        s._server.close()  # the engine's side of the gate is gone
        s.open_batch(0, {"a": Go({"word": "x"}), "b": Go({"word": "x"})})
        with pytest.raises(AdapterError, match="did not run"):
            s.wait_batch(0)
        assert "maintctl gate" in s.logs()[0][1].decode()
    assert ran(pb) == []


def test_a_playbook_that_cannot_run_is_an_error(pb: dict[str, Any]) -> None:
    pb["lead"].write_text("- hosts: all\n  tasks:\n    - nosuchmodule_xyz: {}\n")
    with session(pb, [("a",)]) as s:
        s.start()
        with pytest.raises(AdapterError, match="did not run"):
            s.wait_lead()


def test_lead_playbooks_may_hold_several_plays_and_imports(pb: dict[str, Any]) -> None:
    second = pb["tmp"] / "second.yml"
    second.write_text(LEAD.replace("name: lead", "name: lead two").replace("capture: lead", "capture: two"))
    top = pb["tmp"] / "top.yml"
    top.write_text(json.dumps([{"import_playbook": str(pb["lead"])}, {"import_playbook": "second.yml"}]))
    pb["lead"] = top
    with session(pb, [("a", "b")]) as s:
        s.start()
        lead = s.wait_lead()
        assert [st.name for st in lead.hosts["a"].steps] == ["capture: lead", "capture: two"]
        assert ran(pb) == []
        s.open_batch(0, {"a": Go({"word": "x"}), "b": Go({"word": "x"})})
        assert {r.status for r in s.wait_batch(0).hosts.values()} == {"changed"}


def test_run_by_hand_the_gated_play_is_plain_ansible(pb: dict[str, Any], tmp_path: Path) -> None:
    """Without maintctl (no gate strategy) the playbook runs as plain Ansible: every host, one batch."""
    import os
    import subprocess
    import sys

    pb["gated"].write_text(GATED.replace("maintctl_batch.vars.word", "maintctl_batch.vars.word | default('hand')"))
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1",
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    env.pop("MAINTCTL_GATE", None)
    done = subprocess.run(["ansible-playbook", "-i", str(pb["inv"]), str(pb["gated"]), "-e", f"log={pb['log']}"],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert sorted(ran(pb)) == sorted(f"{h}=hand" for h in HOSTS)

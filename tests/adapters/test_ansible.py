"""The Ansible adapter against local-connection hosts (real ansible-playbook through ansible-runner)."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from runner.adapters.ansible import PlaybookSpec, ansible_cmdline, ansible_env, run_playbook
from runner.adapters.ansible_events import EventFolder, step_from_event
from runner.engine.kind import StepResult
from runner.errors import AdapterError

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: facts
      setup: {gather_subset: ["!all", "!min", "python"]}
    - name: interpreter
      debug: {msg: "{{ ansible_facts.python.executable }}"}
    - name: secret
      command: echo canary-s3cr3t-value
      no_log: true
    - name: write
      copy: {content: "x{{ inventory_hostname }}\\n", dest: "{{ out }}/{{ inventory_hostname }}"}
    - name: maybe fail
      fail: {msg: "failing {{ inventory_hostname }}"}
      when: fail_me | default(false)
    - name: slow
      command: sleep {{ nap | default(0) }}
      changed_when: false
"""


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n"
        "    l1: {ansible_connection: local}\n"
        "    l2: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3.11}\n"
        "    l3: {ansible_connection: local, fail_me: true}\n"
    )
    (tmp_path / "out").mkdir()
    return tmp_path


def spec(estate: Path, **kw: object) -> PlaybookSpec:
    base: dict[str, object] = dict(
        playbook=estate / "pb.yml", inventory=estate / "inv.yml", hosts=["l1", "l2", "l3"],
        extravars={"out": str(estate / "out")}, forks=5,
    )
    base.update(kw)
    return PlaybookSpec(**base)  # type: ignore[arg-type]


def test_runs_streams_and_folds_results(estate: Path) -> None:
    seen: list[tuple[str, str, str]] = []
    threads: set[int] = set()

    def on_step(host: str, step: StepResult) -> None:
        threads.add(threading.get_ident())
        seen.append((host, step.name, step.status))

    data = estate / "run1"
    res = run_playbook(spec(estate, diff=True), data_dir=data, on_step=on_step)
    assert res.status == "failed" and res.rc == 2 and not res.ok
    assert {h: r.status for h, r in res.hosts.items()} == {"l1": "changed", "l2": "changed", "l3": "failed"}
    assert res.hosts["l3"].message == "failing l3"
    assert ("l1", "write", "changed") in seen and ("l3", "maybe fail", "failed") in seen
    assert threads == {threading.get_ident()}  # callbacks come on the caller's thread
    # per-host interpreter: inventory value wins, default is /usr/bin/python3, never discovery
    interp = {h: r.steps[1].data["msg"] for h, r in res.hosts.items()}
    assert interp["l1"] == "/usr/bin/python3" and interp["l2"] == "/usr/bin/python3.11"
    # no_log results are censored and the secret appears nowhere we keep
    secret = res.hosts["l1"].steps[2]
    assert secret.data.get("censored") and "canary" not in json.dumps(secret.data)
    assert "canary-s3cr3t" not in res.stdout_tail(100000)
    write = res.hosts["l1"].steps[3]
    assert write.data["diff"][0]["after"] == "xl1\n"
    assert (estate / "out" / "l1").read_text() == "xl1\n"
    # no per-event files written; the private dir is 0700; the environment dump is scrubbed
    assert list((data / "artifacts" / "run" / "job_events").glob("*.json")) == []
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    command = json.loads((data / "artifacts" / "run" / "command").read_text())
    assert set(command["env"]) <= {k for k in command["env"] if k.startswith(("ANSIBLE_", "RUNNER_"))}
    assert "--limit" in command["command"] and "l1,l2,l3" in command["command"]


def test_check_mode_changes_nothing(estate: Path) -> None:
    res = run_playbook(spec(estate, check=True, diff=True, hosts=["l1"]), data_dir=estate / "run2")
    assert res.hosts["l1"].status == "changed"
    assert not (estate / "out" / "l1").exists()
    assert res.hosts["l1"].steps[3].data["diff"][0]["after"] == "xl1\n"


def test_cancel_mid_play_is_not_done(estate: Path) -> None:
    steps: list[str] = []
    res = run_playbook(
        spec(estate, hosts=["l1"], extravars={"out": str(estate / "out"), "nap": 30}),
        data_dir=estate / "run3", on_step=lambda h, s: steps.append(s.name),
        cancel=lambda: "maybe fail" in steps,
    )
    assert res.status == "canceled"
    # the host began the play: it is partially applied, which must never read as done
    assert res.hosts["l1"].status == "failed" and "partially" in res.hosts["l1"].message
    assert "slow" not in steps


def test_broken_playbook_is_an_adapter_error(estate: Path) -> None:
    (estate / "bad.yml").write_text("- hosts: all\n  tasks:\n    - nosuchmodule_xyz: {}\n")
    with pytest.raises(AdapterError, match="did not run"):
        run_playbook(spec(estate, playbook=estate / "bad.yml"), data_dir=estate / "run4")
    with pytest.raises(AdapterError, match="does not exist"):
        run_playbook(spec(estate, playbook=estate / "nope.yml"), data_dir=estate / "run5")


def test_settings_are_explicit(tmp_path: Path) -> None:
    s = PlaybookSpec(playbook=tmp_path / "p.yml", inventory=tmp_path / "i", hosts=["a"], forks=7,
                     strategy="free", pipelining=False, known_hosts=Path("/kh"), check=True, diff=True,
                     tags=("a", "b"))
    env = ansible_env(s, tmp_path)
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert "UserKnownHostsFile=/kh" in env["ANSIBLE_SSH_ARGS"]
    assert "StrictHostKeyChecking=yes" in env["ANSIBLE_SSH_ARGS"]
    assert (env["ANSIBLE_FORKS"], env["ANSIBLE_STRATEGY"], env["ANSIBLE_PIPELINING"]) == ("7", "free", "False")
    assert env["ANSIBLE_PYTHON_INTERPRETER"] == "/usr/bin/python3"
    assert env["PATH"].split(":")[0].endswith("bin")
    assert ansible_cmdline(s) == ["--check", "--diff", "--tags", "a,b"]


def test_event_folding_rules() -> None:
    ev = {"event": "runner_on_failed", "event_data": {"host": "h", "task": "t", "ignore_errors": True,
                                                      "res": {"msg": "boom", "changed": False}}}
    found = step_from_event(ev)
    assert found is not None and found[1].status == "ok" and found[1].data["ignored"]
    assert step_from_event({"event": "playbook_on_task_start", "event_data": {}}) is None
    folder = EventFolder(["h", "g"])
    folder.feed({"event": "runner_on_unreachable", "event_data": {"host": "h", "task": "t",
                                                                  "res": {"msg": "no route"}}})
    assert folder.results["h"].status == "unreachable" and folder.results["h"].message == "no route"
    folder.feed({"event": "playbook_on_stats", "event_data": {"dark": {"h": 1}, "ok": {"g": 2}}})
    assert (folder.results["h"].status, folder.results["g"].status) == ("unreachable", "ok")

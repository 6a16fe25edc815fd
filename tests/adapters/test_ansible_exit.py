"""Ending without the interpreter's teardown (runner.procexit), in ansible-playbook too (maintctl_exit)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.adapters.ansible import PlaybookSpec
from runner.adapters.ansible import run_playbook as engine_run
from runner.adapters.ansible_proc import CALLBACK_PLUGINS, exit_callback_env
from runner.kinds.drift.ansible_check import run_playbook, spec_for

from .exit_probe import PROBE, marks, probe_ansible_playbook


def _script(tmp_path: Path, body: str, install: bool) -> subprocess.CompletedProcess[str]:
    code = PROBE + textwrap.dedent(
        f"""
        from runner.procexit import install_fast_exit
        if {install!r}:
            install_fast_exit()
        """
    ) + textwrap.dedent(body)
    env = {**os.environ, "EXIT_PROBE_LOG": str(tmp_path / "log")}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("install", [False, True])
def test_exit_keeps_status_threads_and_atexit_and_skips_only_the_teardown(tmp_path: Path, install: bool) -> None:
    body = """
    def late():
        time.sleep(0.3)
        mark("thread")
    threading.Thread(target=late).start()
    sys.exit(3)
    """
    done = _script(tmp_path, body, install)
    assert done.returncode == 3, done.stderr
    seen = marks(tmp_path / "log")
    assert seen[:2] == ["thread", "atexit"]  # CPython's order: threads joined, then atexit
    assert ("teardown" in seen) is not install  # the probe sees a teardown when there is one


@pytest.mark.parametrize(("code", "status", "stderr"), [("None", 0, ""), ("'bye'", 1, "bye"), ("True", 1, "")])
def test_exit_status_is_what_sys_exit_gives(tmp_path: Path, code: str, status: int, stderr: str) -> None:
    done = _script(tmp_path, f"sys.exit({code})", install=True)
    assert done.returncode == status and done.stderr.strip() == stderr
    assert "teardown" not in marks(tmp_path / "log")


def test_a_forked_worker_or_a_thread_gets_the_real_sys_exit(tmp_path: Path) -> None:
    body = """
    pid = os.fork()
    if pid == 0:  # a worker: its parent's atexit handlers must not run here
        try:
            sys.exit(5)
        except SystemExit as exc:
            mark(f"worker-raised-{exc.code}")
        os._exit(0)
    os.waitpid(pid, 0)
    def thread_exit():
        try:
            sys.exit(6)
        except SystemExit as exc:
            mark(f"thread-raised-{exc.code}")
    t = threading.Thread(target=thread_exit)
    t.start()
    t.join()
    mark("main-goes-on")
    sys.exit(4)
    """
    done = _script(tmp_path, body, install=True)
    assert done.returncode == 4, done.stderr
    assert marks(tmp_path / "log") == ["worker-raised-5", "thread-raised-6", "main-goes-on", "atexit"]


PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: file
      ansible.builtin.copy: {content: "x\\n", dest: "{{ managed_path }}"}
    - name: fails where asked
      ansible.builtin.fail: {msg: "asked to fail"}
      when: fail_here | default(false) | bool
"""


def _probe_ansible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool) -> tuple[Path, Path]:
    probe_ansible_playbook(tmp_path, monkeypatch)
    (tmp_path / "pb.yml").write_text(PLAY)
    inv = tmp_path / "inv.ini"
    inv.write_text(
        f"l1 ansible_connection=local managed_path={tmp_path / 'l1.txt'} fail_here={fail}\n"
        "[all:vars]\nansible_python_interpreter=/usr/bin/python3\n"
    )
    return tmp_path / "pb.yml", inv


@pytest.mark.parametrize(("fail", "rc"), [(False, 0), (True, 2)])
def test_a_drift_playbook_ends_without_teardown_with_ansibles_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool, rc: int
) -> None:
    playbook, inv = _probe_ansible(tmp_path, monkeypatch, fail)
    run = run_playbook(spec_for(playbook, inv, hosts=["l1"]), work_dir=tmp_path)
    assert run.rc == rc and run.status == ("failed" if fail else "successful")
    assert any(e["event"] == "playbook_on_stats" for e in run.events)
    assert marks(tmp_path / "log") == ["atexit"]  # Ansible's atexit handlers ran; no teardown


@pytest.mark.parametrize(("fail", "rc"), [(False, 0), (True, 2)])
def test_an_engine_playbook_ends_without_teardown_with_ansibles_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool, rc: int
) -> None:
    playbook, inv = _probe_ansible(tmp_path, monkeypatch, fail)
    res = engine_run(PlaybookSpec(playbook=playbook, inventory=inv, hosts=["l1"]), data_dir=tmp_path / "run")
    assert res.rc == rc and res.ok is not fail and res.hosts["l1"].failed is fail
    assert marks(tmp_path / "log") == ["atexit"]


def test_the_users_own_callbacks_stay_enabled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANSIBLE_CALLBACKS_ENABLED", raising=False)
    monkeypatch.delenv("ANSIBLE_CALLBACK_PLUGINS", raising=False)
    assert exit_callback_env() == {
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
        "ANSIBLE_CALLBACKS_ENABLED": "maintctl_exit",
    }
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "profile_tasks, ara_default,maintctl_exit")
    monkeypatch.setenv("ANSIBLE_CALLBACK_PLUGINS", f"/opt/ara/plugins:{CALLBACK_PLUGINS}")
    env = exit_callback_env([tmp_path], ["maintctl_drift_skips"])
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == "maintctl_drift_skips,maintctl_exit,profile_tasks,ara_default"
    assert env["ANSIBLE_CALLBACK_PLUGINS"] == f"{tmp_path}:{CALLBACK_PLUGINS}:/opt/ara/plugins"


def test_an_ansible_playbook_that_cannot_import_maintctl_ends_the_usual_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    playbook, inv = _probe_ansible(tmp_path, monkeypatch, fail=False)
    site = tmp_path / "site" / "sitecustomize.py"  # as an ansible-playbook of another environment
    site.write_text(site.read_text() + "    sys.modules['runner.procexit'] = None\n")
    run = run_playbook(spec_for(playbook, inv, hosts=["l1"]), work_dir=tmp_path)
    assert run.rc == 0 and run.status == "successful"  # the callback does not fail the run
    assert marks(tmp_path / "log") == ["atexit", "teardown"]

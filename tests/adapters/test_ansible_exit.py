"""Ending without the interpreter's teardown (runner.procexit), in ansible-playbook too (maintctl_exit)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.kinds.drift.ansible_check import run_playbook, spec_for

# Marks what a process did on its way out: atexit handlers, a non-daemon thread finishing, and the
# interpreter's teardown (a module global's __del__ runs only when finalization clears the module).
_PROBE = textwrap.dedent(
    """
    import atexit, os, sys, threading, time
    _log = os.environ["EXIT_PROBE_LOG"]
    def mark(what, _log=_log, _open=open):  # bound now: globals are gone during the teardown
        with _open(_log, "a") as fh:
            fh.write(what + "\\n")
    class _Teardown:
        def __del__(self, _mark=mark):
            _mark("teardown")
    _probe = _Teardown()
    atexit.register(mark, "atexit")
    """
)


def _marks(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _script(tmp_path: Path, body: str, install: bool) -> subprocess.CompletedProcess[str]:
    code = _PROBE + textwrap.dedent(
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
    marks = _marks(tmp_path / "log")
    assert marks[:2] == ["thread", "atexit"]  # CPython's order: threads joined, then atexit
    assert ("teardown" in marks) is not install  # the probe sees a teardown when there is one


@pytest.mark.parametrize(("code", "status", "stderr"), [("None", 0, ""), ("'bye'", 1, "bye"), ("True", 1, "")])
def test_exit_status_is_what_sys_exit_gives(tmp_path: Path, code: str, status: int, stderr: str) -> None:
    done = _script(tmp_path, f"sys.exit({code})", install=True)
    assert done.returncode == status and done.stderr.strip() == stderr
    assert "teardown" not in _marks(tmp_path / "log")


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
    assert _marks(tmp_path / "log") == ["worker-raised-5", "thread-raised-6", "main-goes-on", "atexit"]


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


@pytest.mark.parametrize(("fail", "rc"), [(False, 0), (True, 2)])
def test_a_drift_playbook_ends_without_teardown_with_ansibles_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool, rc: int
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    # In ansible-playbook only: the probe, loaded at interpreter start-up like any sitecustomize.
    (site / "sitecustomize.py").write_text(
        "import os, sys\nif os.path.basename(sys.argv[0]) == 'ansible-playbook':\n"
        + textwrap.indent(_PROBE, "    ")
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("EXIT_PROBE_LOG", str(tmp_path / "log"))
    (tmp_path / "pb.yml").write_text(PLAY)
    inv = tmp_path / "inv.ini"
    inv.write_text(
        f"l1 ansible_connection=local managed_path={tmp_path / 'l1.txt'} fail_here={fail}\n"
        "[all:vars]\nansible_python_interpreter=/usr/bin/python3\n"
    )
    run = run_playbook(spec_for(tmp_path / "pb.yml", inv, hosts=["l1"]), work_dir=tmp_path)
    assert run.rc == rc and run.status == ("failed" if fail else "successful")
    assert any(e["event"] == "playbook_on_stats" for e in run.events)
    assert _marks(tmp_path / "log") == ["atexit"]  # Ansible's atexit handlers ran; no teardown

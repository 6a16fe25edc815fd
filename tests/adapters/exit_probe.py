"""A probe of how a process ends: atexit handlers, non-daemon threads, and the interpreter's teardown."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

# Marks what a process did on its way out: atexit handlers, a non-daemon thread finishing, and the
# interpreter's teardown (a module global's __del__ runs only when finalization clears the module).
PROBE = textwrap.dedent(
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


def marks(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def probe_ansible_playbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Load ``PROBE`` in every ansible-playbook started from now on (a sitecustomize); returns its log."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys\nif os.path.basename(sys.argv[0]) == 'ansible-playbook':\n"
        + textwrap.indent(PROBE, "    ")
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("EXIT_PROBE_LOG", str(tmp_path / "log"))
    return tmp_path / "log"

"""How maintctl starts ansible-playbook through ansible-runner: the options every run shares.

Both callers (the engine adapter in ``runner.adapters.ansible`` and the drift check in
``runner.kinds.drift.ansible_check``) pass ``runner_options()`` to ``ansible_runner.run``:

* ``fact_cache_type="memory"``: ansible-runner's default (``jsonfile``) makes every play that gathers
  facts write one JSON file per host into the run's artifact folder. Each of our runs gets a fresh
  private data dir, so nothing could ever read them back; the in-memory cache is what plain
  ``ansible-playbook`` uses.
* ``quiet`` / ``suppress_env_files``: no echo of Ansible's output, no ``env/`` files holding the
  environment (credentials) on disk.

``graceful_termination()`` makes a cancelled or timed-out run stop Ansible's workers as well (see there).

``CALLBACK_PLUGINS`` holds ``maintctl_exit``, a callback that ends ansible-playbook without the
interpreter's teardown (~0.1 s a playbook; see the plugin); every run enables it with ``exit_callback_env``.

``without_close_delay()`` removes a fixed 0.1 s per playbook: ansible-runner closes its pexpect child
only after the child has exited and been reaped, and ptyprocess still sleeps ``delayafterclose``
(0.1 s, "give the kernel time to update process status") before checking it again. The spawn class
ansible-runner uses is replaced, in ansible-runner's module only, by one that skips that sleep when
the child is already reaped; a child that is still alive is closed exactly as before.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.adapters.ansible_runner_loader import load_ansible_runner

CALLBACK_PLUGINS = Path(__file__).resolve().parent / "ansible_plugins" / "callback"
_lock = threading.Lock()
_installed: list[bool] = []


def exit_callback_env(plugin_dirs: Sequence[Path] = (), enabled: Sequence[str] = ()) -> dict[str, str]:
    """Environment enabling ``maintctl_exit`` and the ``enabled`` callbacks found in ``plugin_dirs``.

    Callbacks the user enabled in maintctl's own environment (``ANSIBLE_CALLBACKS_ENABLED``, e.g. a
    profiler or a run recorder) stay enabled, from their folders (``ANSIBLE_CALLBACK_PLUGINS``).
    """
    dirs = [str(p) for p in [*plugin_dirs, CALLBACK_PLUGINS]]
    names = [*enabled, "maintctl_exit"]
    theirs = [n.strip() for n in os.environ.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if n.strip()]
    their_dirs = [d for d in os.environ.get("ANSIBLE_CALLBACK_PLUGINS", "").split(os.pathsep) if d]
    return {
        "ANSIBLE_CALLBACK_PLUGINS": os.pathsep.join([*dirs, *(d for d in their_dirs if d not in dirs)]),
        "ANSIBLE_CALLBACKS_ENABLED": ",".join([*names, *(n for n in theirs if n not in names)]),
    }


def runner_options() -> dict[str, Any]:
    """Keyword arguments for ``ansible_runner.run`` that every maintctl playbook run uses."""
    without_close_delay()
    graceful_termination()
    return {"quiet": True, "suppress_env_files": True, "fact_cache_type": "memory"}


def _spawn_class(pexpect: Any) -> type:
    class ReapedSpawn(pexpect.spawn):  # type: ignore[misc]
        """pexpect.spawn whose close() does not sleep when the child has already been reaped."""

        def close(self, force: bool = True) -> None:
            ptyproc = getattr(self, "ptyproc", None)
            if ptyproc is not None and ptyproc.terminated:
                ptyproc.delayafterclose = 0
            super().close(force=force)

    return ReapedSpawn


def without_close_delay() -> bool:
    """Install the spawn class into ansible-runner's module (once); False if its layout is unknown."""
    with _lock:
        if not _installed:
            runner_module = load_ansible_runner().runner
            real = getattr(runner_module, "pexpect", None)
            known = isinstance(real, types.ModuleType) and isinstance(getattr(real, "spawn", None), type)
            if known and isinstance(real, types.ModuleType):
                view = types.ModuleType(real.__name__, real.__doc__)
                view.__dict__.update(real.__dict__)
                setattr(view, "spawn", _spawn_class(real))  # noqa: B010 - mypy cannot see module attributes
                runner_module.pexpect = view
            _installed.append(known)
        return _installed[0]


TERM_GRACE = 5.0  # seconds ansible-playbook gets to stop its workers before ansible-runner's SIGKILL
_term_installed: list[bool] = []


def graceful_termination() -> bool:
    """Make ansible-runner's cancel and timeout stop Ansible's workers too (once; False if unknown layout).

    ansible-runner stops a run with SIGKILL to ansible-playbook's process group. Since ansible-core 2.19
    every worker process calls setsid, so that kill leaves each worker running its task to the end (an
    apt install, a reboot) after the run was reported cancelled. ansible-playbook itself, on SIGTERM,
    forwards it to its workers, which kill their own process groups. So ansible-runner's termination
    is wrapped: SIGTERM first, up to ``TERM_GRACE`` seconds for ansible-playbook to exit, then the
    original SIGKILL for whatever is left.
    """
    with _lock:
        if not _term_installed:
            runner_class = load_ansible_runner().runner.Runner
            original = runner_class.__dict__.get("handle_termination")
            known = isinstance(original, classmethod)
            if isinstance(original, classmethod):
                real = original.__func__

                def handle_termination(cls: type, pid: int, pidfile: str | None = None) -> None:
                    terminate(pid)
                    real(cls, pid, pidfile)

                runner_class.handle_termination = classmethod(handle_termination)
            _term_installed.append(known)
        return _term_installed[0]


def terminate(pid: int, grace: float = TERM_GRACE) -> None:
    """SIGTERM ``pid`` and wait up to ``grace`` seconds for it to exit (without reaping it: pexpect does)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Alive and not a zombie (Linux /proc; elsewhere: assume it exited, the SIGKILL follows anyway)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]

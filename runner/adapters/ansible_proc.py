"""How maintctl starts ansible-playbook through ansible-runner: the options every run shares.

Both callers (the engine adapter in ``runner.adapters.ansible`` and the drift check in
``runner.kinds.drift.ansible_check``) pass ``runner_options()`` to ``ansible_runner.run``:

* ``fact_cache_type="memory"``: ansible-runner's default (``jsonfile``) makes every play that gathers
  facts write one JSON file per host into the run's artifact folder. Each of our runs gets a fresh
  private data dir, so nothing could ever read them back; the in-memory cache is what plain
  ``ansible-playbook`` uses.
* ``quiet`` / ``suppress_env_files``: no echo of Ansible's output, no ``env/`` files holding the
  environment (credentials) on disk.

``without_close_delay()`` removes a fixed 0.1 s per playbook: ansible-runner closes its pexpect child
only after the child has exited and been reaped, and ptyprocess still sleeps ``delayafterclose``
(0.1 s, "give the kernel time to update process status") before checking it again. The spawn class
ansible-runner uses is replaced, in ansible-runner's module only, by one that skips that sleep when
the child is already reaped; a child that is still alive is closed exactly as before.
"""

from __future__ import annotations

import threading
import types
from typing import Any

from runner.adapters.ansible_runner_loader import load_ansible_runner

_lock = threading.Lock()
_installed: list[bool] = []


def runner_options() -> dict[str, Any]:
    """Keyword arguments for ``ansible_runner.run`` that every maintctl playbook run uses."""
    without_close_delay()
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

"""Ending a process without CPython's teardown, keeping everything of shutdown that matters.

CPython's finalization clears every imported module and collects what is left: ~15 ms for maintctl's
command, ~0.1 s for ansible-playbook. A process whose work is done, committed and flushed can skip
it, provided it first does what shutdown does that matters, in CPython's order: non-daemon threads
joined, atexit handlers run (temporary folders, logging, multiprocessing's children, weakref
finalizers), the standard streams flushed. Used by maintctl's command (``runner.cli.main.console``)
and, inside ansible-playbook, by the ``maintctl_exit`` callback (``runner.adapters.ansible_plugins``).
Standard library only: it is imported inside ansible-playbook.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_status(code: object) -> int:
    """The status ``sys.exit(code)`` gives (a message is printed to stderr, as Python does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code)
    print(code, file=sys.stderr)
    return 1


def shutdown() -> None:
    """What shutdown does that matters: threads joined, atexit handlers run, streams flushed."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (maintctl ... | head) or stream: nothing left to deliver


def end(status: int) -> NoReturn:
    """``shutdown()``, then end the process with ``status`` without the interpreter's teardown."""
    shutdown()
    os._exit(status)


def install_fast_exit() -> None:
    """Make ``sys.exit`` in this process's main thread end it through ``end`` (once).

    In a process forked later (a worker, which must not run its parent's atexit handlers), or in
    another thread, ``sys.exit`` does what it always does.
    """
    if getattr(sys.exit, "_fast_exit", False):
        return
    owner = os.getpid()

    def fast_exit(code: object = None) -> NoReturn:
        if os.getpid() != owner or threading.current_thread() is not threading.main_thread():
            raise SystemExit(code)
        end(exit_status(code))

    fast_exit._fast_exit = True  # type: ignore[attr-defined]
    sys.exit = fast_exit

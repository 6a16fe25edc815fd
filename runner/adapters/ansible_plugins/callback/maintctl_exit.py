"""Ansible callback that ends ansible-playbook without the interpreter's teardown.

ansible-playbook ends with ``sys.exit(code)``. CPython then clears every module Ansible imported and
collects what is left (~0.1 s on the 2-core bench machine, ~4% of a drift check of the lab), and
maintctl, which needs the exit status, waits for it. Nothing of Ansible's depends on that teardown:
``runner.procexit`` does what shutdown does that matters (threads joined, atexit handlers run: Ansible's
local temporary folder, multiprocessing's children, logging; streams flushed), then ends the process
with the status ``sys.exit`` would give. maintctl's own command ends the same way.

Installed when Ansible loads the callback, for ansible-playbook's main thread only (a worker forked
later, or a thread, keeps the real ``sys.exit``). Loaded only by maintctl's runs that enable it
(``runner.adapters.ansible_proc.exit_callback_env``), whose ansible-playbook is normally the one
installed beside maintctl. If it is not (``runner`` cannot be imported here), ansible-playbook ends
the usual way: a callback that fails to import would fail the whole run, for a mere speed-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-not-found,unused-ignore]

_install: Callable[[], None] | None
try:
    from runner.procexit import install_fast_exit as _install
except ImportError:  # an ansible-playbook from another environment: the usual exit
    _install = None


class CallbackModule(CallbackBase):  # type: ignore[misc,unused-ignore]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "maintctl_exit"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _install is not None:
            _install()

"""Load ansible-runner without its package ``__init__``: no event plugins, no entry-point scan.

ansible-runner's ``__init__`` does two things besides re-exporting names:

* it loads every ``ansible_runner.plugins`` entry point of every installed distribution into
  ``ansible_runner.plugins``, and ansible-runner then hands *every* event and status change of every
  run to each of them. maintctl loads no event plugins on purpose: a plugin that happens to be
  installed in the environment would receive all of our events, diffs and command output included,
  which maintctl redacts and keeps in evidence only on its own terms.
* to find them it imports ``importlib.metadata`` (email, zipfile, csv, ...) and reads the metadata
  of every installed distribution. Measured on the 2-core bench machine (best of 7 fresh
  interpreters, .pyc files warm, over an interpreter that has imported ``runner.errors``):
  ``import ansible_runner`` 60 ms, ``load_ansible_runner()`` 44 ms. The 16 ms saved would be spent
  before ansible-playbook starts, on every playbook run. (The rest is ansible-runner's own modules:
  PyYAML, pexpect, logging, ...)

``load_ansible_runner()`` installs a bare package module for ``ansible_runner`` (its real spec and
``__path__``, so submodules import as usual), imports ``ansible_runner.interface`` and the modules the
real ``__init__`` imports, then sets the names that ``__init__`` exports on the package, with
``plugins`` an empty dict. Afterwards ``import ansible_runner; ansible_runner.run(...)`` works anywhere
in the process. If ansible-runner was already imported the normal way, that module is used as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

from runner.errors import AdapterError

PACKAGE = "ansible_runner"
# The names ansible_runner/__init__.py (2.4) binds, by the module they come from; its
# ``importlib_metadata`` is left out on purpose, and ``plugins`` is set to {} below.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "interface": (
        "run",
        "run_async",
        "run_command",
        "run_command_async",
        "get_plugin_docs",
        "get_plugin_docs_async",
        "get_plugin_list",
        "get_role_list",
        "get_role_argspec",
        "get_inventory",
        "get_ansible_config",
    ),
    "exceptions": ("AnsibleRunnerException", "ConfigurationError", "CallbackError"),
    "runner_config": ("RunnerConfig",),
    "runner": ("Runner",),
}
_lock = threading.Lock()


def load_ansible_runner() -> types.ModuleType:
    """The ``ansible_runner`` package with ``run`` (and its ``runner`` module), imported without plugins.

    Raises ``ModuleNotFoundError`` as ``import ansible_runner`` would when it is not installed.
    """
    with _lock:
        loaded = sys.modules.get(PACKAGE)
        if loaded is not None:
            return loaded
        spec = importlib.util.find_spec(PACKAGE)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {PACKAGE!r}", name=PACKAGE)
        if spec.submodule_search_locations is None:
            raise AdapterError(f"{spec.origin}: {PACKAGE} is not a package; cannot run playbooks")
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        try:
            exports: dict[str, object] = {}
            for module_name, names in _EXPORTS.items():
                module = importlib.import_module(f"{PACKAGE}.{module_name}")
                exports.update((name, getattr(module, name)) for name in names)
        except BaseException:
            # A half-built package must not stay behind for a later ``import ansible_runner``.
            for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
                del sys.modules[name]
            raise
        # Importing ``runner`` bound the ``ansible_runner.plugins`` subpackage here; ansible-runner
        # iterates this attribute as a name -> plugin dict on every event, as its __init__ leaves it.
        exports["plugins"] = {}
        vars(package).update(exports)
        return package

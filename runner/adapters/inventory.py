"""Connection variables of inventory hosts, as Ansible itself sees them (groups, group_vars and
Jinja templates such as ``{{ inventory_dir }}`` resolved), for the SSH adapter and checks."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.errors import AdapterError

CONNECTION_VARS = (
    "ansible_host", "ansible_port", "ansible_ssh_port", "ansible_user", "ansible_ssh_user",
    "ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_ssh_common_args",
    "ansible_ssh_extra_args", "ansible_connection", "ansible_python_interpreter", "maintctl_known_hosts",
)
_KNOWN_HOSTS_OPT = re.compile(r"UserKnownHostsFile[= ]\s*(\S+)")
_lock = threading.Lock()
_cache: dict[tuple[str, ...], Any] = {}


def _manager(sources: Sequence[Path]) -> Any:
    key = tuple(str(p) for p in sources)
    with _lock:
        if key not in _cache:
            from ansible.inventory.manager import InventoryManager
            from ansible.parsing.dataloader import DataLoader
            from ansible.vars.manager import VariableManager

            loader = DataLoader()
            inventory = InventoryManager(loader=loader, sources=list(key))
            _cache[key] = (loader, inventory, VariableManager(loader=loader, inventory=inventory))
        return _cache[key]


def connection_vars(sources: Sequence[Path], host: str) -> dict[str, Any]:
    """The templated connection variables of ``host``; ``AdapterError`` if the host is unknown."""
    return host_vars(sources, host, CONNECTION_VARS)


def host_vars(sources: Sequence[Path], host: str, names: Sequence[str]) -> dict[str, Any]:
    """The templated values of the variables ``names`` of ``host`` (those it has; group_vars, host_vars
    and inventory plugins included); ``AdapterError`` if the host is unknown."""
    from ansible.template import Templar

    loader, inventory, variables = _manager(sources)
    entry = inventory.get_host(host)
    if entry is None:
        raise AdapterError(f"host {host} is not in the inventory ({', '.join(map(str, sources))})")
    all_vars = variables.get_vars(host=entry, include_hostvars=False)
    templar = Templar(loader=loader, variables=all_vars)
    out: dict[str, Any] = {}
    for name in names:
        if name in all_vars:
            try:
                out[name] = templar.template(all_vars[name])
            except Exception as exc:  # ansible raises several template error types
                raise AdapterError(f"inventory host {host}: cannot template {name}: {exc}") from exc
    return out


def known_hosts_from_vars(hostvars: dict[str, Any] | Any) -> Path | None:
    """The known_hosts file the inventory names for a host (``maintctl_known_hosts`` or the
    ``UserKnownHostsFile`` option in its SSH arguments), if any."""
    named = hostvars.get("maintctl_known_hosts")
    if named:
        return Path(str(named))
    for name in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        found = _KNOWN_HOSTS_OPT.search(str(hostvars.get(name) or ""))
        if found:
            return Path(found.group(1).strip("'\""))
    return None


def clear_cache() -> None:
    with _lock:
        _cache.clear()

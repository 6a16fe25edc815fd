"""Which known_hosts file an estate's SSH and Ansible connections check host keys against.

Apart from ``runner.adapters.ssh`` (which re-exports these) so that building a playbook run, which
needs only the path, does not import the SSH command adapter's classes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def default_known_hosts() -> Path:
    return Path.home() / ".ssh" / "known_hosts"


def configured_known_hosts(root: Path, ansible_settings: Mapping[str, Any]) -> Path | None:
    """``MAINTCTL_KNOWN_HOSTS`` or ``settings.ansible.known_hosts`` (relative to the estate root), if set."""
    given = os.environ.get("MAINTCTL_KNOWN_HOSTS") or ansible_settings.get("known_hosts")
    if not given:
        return None
    path = Path(str(given)).expanduser()
    return path if path.is_absolute() else root / path


def known_hosts_path(root: Path, ansible_settings: Mapping[str, Any]) -> Path:
    """The estate's known_hosts: ``MAINTCTL_KNOWN_HOSTS``, ``settings.ansible.known_hosts`` (relative to
    the estate root) or ``~/.ssh/known_hosts`` (where the inventory may name a host's own file)."""
    return configured_known_hosts(root, ansible_settings) or default_known_hosts()

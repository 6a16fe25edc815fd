"""Where an estate lives on disk: its root, its catalogue folders and its private state folder."""

from __future__ import annotations

import os
from pathlib import Path

from runner.errors import UsageError

CATALOGUE_DIRS = ("maintenance", "patching", "backup")
STATE_DIRNAME = ".maintctl"


def find_root(start: Path | None = None) -> Path:
    """Return the estate root: ``start`` or the nearest parent holding a ``maintenance/`` folder."""
    here = (start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for candidate in (here, *here.parents):
        if (candidate / "maintenance").is_dir():
            return candidate
    raise UsageError(
        f"{here}: no estate found (no maintenance/ folder here or above); pass --estate DIR or run inside an estate"
    )


def state_dir(root: Path) -> Path:
    """Return the estate's private state folder, created with mode 0700 if missing.

    ``MAINTCTL_STATE_DIR`` overrides the location (useful for several runners sharing an estate checkout).
    """
    override = os.environ.get("MAINTCTL_STATE_DIR")
    path = Path(override) if override else root / STATE_DIRNAME
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkdir's mode is masked by umask and ignored for existing folders; state must not be world-readable.
    os.chmod(path, 0o700)
    return path


def private_subdir(root: Path, *parts: str) -> Path:
    """Return a folder inside the state folder, mode 0700."""
    path = state_dir(root).joinpath(*parts)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path

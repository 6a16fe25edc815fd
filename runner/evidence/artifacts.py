"""Content-addressed artifact store: ``artifacts/<first 2 hex>/<other 62 hex>`` holds the bytes whose
SHA-256 is the name. Files are written atomically and never replaced."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from runner.evidence.fsutil import atomic_write, private_dir

ARTIFACTS_DIR = "artifacts"


def artifact_path(root: Path, digest: str) -> Path:
    return root / ARTIFACTS_DIR / digest[:2] / digest[2:]


def put(root: Path, content: bytes) -> str:
    """Store ``content`` (durably, before returning) and return its SHA-256 hex digest."""
    digest = hashlib.sha256(content).hexdigest()
    path = artifact_path(root, digest)
    if not path.exists():
        if not path.parent.is_dir():
            private_dir(root / ARTIFACTS_DIR)
            private_dir(path.parent)
        atomic_write(path, content, exclusive=True)
    return digest


def iter_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield (name as digest, path) for every file in the store, temp files included as-is."""
    base = root / ARTIFACTS_DIR
    if not base.is_dir():
        return
    for sub in sorted(os.scandir(base), key=lambda e: e.name):
        if not sub.is_dir(follow_symlinks=False):
            yield sub.name, Path(sub.path)
            continue
        for entry in sorted(os.scandir(sub.path), key=lambda e: e.name):
            yield sub.name + entry.name, Path(entry.path)

"""A cache of files that passed the per-file checks, keyed by their content hash.

Parsing YAML dominates loading a large catalogue, and plan, run and serve load it again and again.
A file whose bytes, role, schemas and checking code are unchanged is taken from here as already
parsed and already schema- and rule-checked; cross-references are always checked afresh.

Entries are JSON (never pickle or marshal), written atomically with mode 0600 inside the estate's
private state folder. ``MAINTCTL_NO_CACHE=1`` turns the cache off. Any unreadable entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from runner.catalogue.schema import SCHEMA_DIR
from runner.catalogue.yamlsafe import YamlDoc

# Bump when parsing or per-file checks change in a way the schemas' hash does not show.
CACHE_VERSION = "1"


@cache
def _fingerprint() -> str:
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class FileCache:
    """Checked files by (content hash, role). ``folder`` None means no caching."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.used: set[str] = set()

    @classmethod
    def for_estate(cls, root: Path) -> FileCache:
        if os.environ.get("MAINTCTL_NO_CACHE"):
            return cls(None)
        try:
            from runner.estate import private_subdir

            return cls(private_subdir(root, "cache", "catalogue"))
        except OSError:
            return cls(None)

    def _name(self, sha256: str, role: str) -> str:
        return f"{role}-{sha256[:40]}-{_fingerprint()}.json"

    def get(self, sha256: str, role: str, text: str) -> YamlDoc | None:
        if self.folder is None:
            return None
        name = self._name(sha256, role)
        try:
            entry = json.loads((self.folder / name).read_text(encoding="utf-8"))
            doc = YamlDoc(
                data=entry["data"],
                text=text,
                marks={tuple(p): (line, col) for p, line, col in entry["marks"]},
                key_marks={tuple(p): (line, col) for p, line, col in entry["key_marks"]},
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        self.used.add(name)
        return doc

    def put(self, sha256: str, role: str, doc: YamlDoc) -> None:
        """Remember a file that passed its checks (only when JSON keeps its data exactly)."""
        if self.folder is None or not doc.string_keys:
            return
        name = self._name(sha256, role)
        entry: dict[str, Any] = {
            "data": doc.data,
            "marks": [[list(p), line, col] for p, (line, col) in doc.marks.items()],
            "key_marks": [[list(p), line, col] for p, (line, col) in doc.key_marks.items()],
        }
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, separators=(",", ":"), allow_nan=False)
            os.replace(tmp, self.folder / name)
        except (OSError, ValueError):
            # A full disk or a NaN in the data: the cache is an optimisation, never an error.
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            return
        self.used.add(name)

    def prune(self) -> None:
        """Drop entries this load did not use once they outnumber the used ones (old file versions)."""
        if self.folder is None:
            return
        try:
            names = [p.name for p in self.folder.iterdir() if p.suffix == ".json"]
            stale = [n for n in names if n not in self.used]
            if len(stale) > max(16, len(self.used)):
                for n in stale:
                    (self.folder / n).unlink(missing_ok=True)
        except OSError:
            return

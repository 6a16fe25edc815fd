"""File manifests (SHA-256 and size per path) taken on a host, and their comparison.

At backup time the manifest of the backed-up paths is taken on the source host; after a test
restore the same is taken of the scratch directory on the restoring host, and the two must match.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runner.errors import AdapterError
from runner.kinds.backup.shell import CommandFailed, Shell

# Runs on the host with its own python3: symlinks are recorded by target, not followed.
_SNIPPET = r"""
import hashlib, json, os, sys
root = sys.argv[1]
out = {}
for top in sys.argv[2:]:
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            key = os.path.relpath(p, root) if root else p
            if os.path.islink(p):
                out[key] = {"link": os.readlink(p)}
                continue
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[key] = {"sha256": h.hexdigest(), "size": os.path.getsize(p)}
json.dump(out, sys.stdout, sort_keys=True)
"""

Manifest = dict[str, dict[str, object]]


def take(shell: Shell, paths: Sequence[str], *, under: str = "", python: str = "python3") -> Manifest:
    """Manifest of ``paths`` on ``shell``'s host; keys are absolute paths as backed up.

    With ``under`` (a restore target), ``paths`` are looked up below it and keys drop that prefix,
    so a restored tree yields the same keys as its source.
    """
    if not paths:
        raise AdapterError("a manifest needs at least one path")
    tops = [under.rstrip("/") + p if under else p for p in paths]
    args = " ".join(shlex.quote(a) for a in [under.rstrip("/") or "", *tops])
    res = shell.run(f"{python} -c {shlex.quote(_SNIPPET)} {args}")
    if not res.ok:
        raise CommandFailed("taking a file manifest", res)
    raw: Manifest = json.loads(res.stdout)
    if under:
        return {"/" + k: v for k, v in raw.items()}
    return raw


@dataclass(frozen=True, kw_only=True)
class ManifestDiff:
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    changed: tuple[str, ...]
    compared: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    def describe(self, limit: int = 10) -> list[str]:
        """One line per difference (at most ``limit`` per class), for messages and evidence."""
        lines = [f"missing after restore: {p}" for p in self.missing[:limit]]
        lines += [f"checksum differs: {p}" for p in self.changed[:limit]]
        lines += [f"not in manifest: {p}" for p in self.extra[:limit]]
        for name, group in (("missing", self.missing), ("changed", self.changed), ("extra", self.extra)):
            if len(group) > limit:
                lines.append(f"... and {len(group) - limit} more {name}")
        return lines


def compare(expected: Mapping[str, Mapping[str, object]], got: Mapping[str, Mapping[str, object]]) -> ManifestDiff:
    """Compare a backup-time manifest with the manifest of a restore."""
    missing = tuple(sorted(set(expected) - set(got)))
    extra = tuple(sorted(set(got) - set(expected)))
    changed = tuple(sorted(p for p in set(expected) & set(got) if dict(expected[p]) != dict(got[p])))
    return ManifestDiff(missing=missing, extra=extra, changed=changed, compared=len(expected))


def to_bytes(manifest: Manifest) -> bytes:
    return json.dumps(manifest, sort_keys=True, indent=0).encode()

"""Finding and reading catalogue files: which files belong to an estate, their role, bytes and hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runner.catalogue import yamlsafe
from runner.catalogue.schema import describe
from runner.errors import Problem

if TYPE_CHECKING:
    from runner.catalogue.cache import FileCache

# Folder -> role (the role names the schema a file is checked against).
ROLE_DIRS = {"maintenance": "maintenance", "patching": "patching", "backup": "backup"}
YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True, kw_only=True)
class ParsedFile:
    """One catalogue file read and parsed. ``doc`` is None when it could not be parsed."""

    path: Path
    name: str  # as shown in messages: relative to the estate root when inside it
    role: str
    sha256: str
    doc: yamlsafe.YamlDoc | None
    cached: bool = False  # taken from the cache: already passed the per-file checks


def visible(path: Path, base: Path) -> bool:
    """False for hidden files and anything under a hidden folder (``.maintctl``, ``.git``) below ``base``."""
    try:
        parts = path.relative_to(base).parts
    except ValueError:
        parts = path.parts
    return not any(part.startswith(".") for part in parts)


def yaml_files(folder: Path) -> list[Path]:
    """Every visible *.yml / *.yaml below ``folder``, in a stable order."""
    found = [
        p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file() and visible(p, folder)
    ]
    return sorted(found)


def estate_files(root: Path) -> list[tuple[Path, str]]:
    """(path, role) of every catalogue file of the estate at ``root``."""
    out: list[tuple[Path, str]] = []
    for folder, role in ROLE_DIRS.items():
        if (root / folder).is_dir():
            out.extend((p, role) for p in yaml_files(root / folder))
    return out


def role_of(path: Path, root: Path | None) -> str | None:
    """The role of a file from the catalogue folder it sits in (None when it is in none)."""
    if root is not None:
        try:
            first = path.resolve().relative_to(root.resolve()).parts[0]
        except (ValueError, IndexError):
            first = ""
        if first in ROLE_DIRS:
            return ROLE_DIRS[first]
    return ROLE_DIRS.get(path.resolve().parent.name)


def display_name(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def read_file(
    path: Path,
    role: str,
    name: str,
    problems: list[Problem],
    *,
    extra_tags: frozenset[str] = frozenset(),
    cache: FileCache | None = None,
) -> ParsedFile:
    """Read and parse one file; problems found on the way are appended to ``problems``."""
    doc: yamlsafe.YamlDoc | None = None
    digest = ""
    cached = False
    try:
        size = path.stat().st_size
        if size > yamlsafe.MAX_BYTES:
            raise yamlsafe.YamlError(
                f"file is {size:,} bytes; the limit is {yamlsafe.MAX_BYTES:,} bytes (split it into several files)"
            )
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if cache is not None:
            doc = cache.get(digest, role, yamlsafe.decode(raw))
            cached = doc is not None
        if doc is None:
            doc = yamlsafe.load_bytes(raw, extra_tags=extra_tags)
    except yamlsafe.YamlError as exc:
        problems.append(Problem(file=name, line=exc.line, column=exc.column, message=exc.message))
    except OSError as exc:
        problems.append(Problem(file=name, message=f"cannot read: {exc.strerror or exc}"))
    if doc is not None and not isinstance(doc.data, dict):
        problems.append(
            Problem(
                file=name,
                line=1,
                column=1,
                message=f"expected a mapping at the top of the file, got {describe(doc.data)}",
            )
        )
        doc = None
    return ParsedFile(path=path, name=name, role=role, sha256=digest, doc=doc, cached=cached)

"""Load an estate's catalogue: read, schema-check, semantic-check and cross-reference every file.

Every problem of every file is collected before anything is raised, so one ``validate`` run shows
them all. The model is built only from a catalogue without problems.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.catalogue import build, crossref, files
from runner.catalogue.cache import FileCache
from runner.catalogue.files import ParsedFile
from runner.catalogue.inventory import load_inventory
from runner.catalogue.model import (
    BackupPlan,
    Baseline,
    Catalogue,
    Freeze,
    Inventory,
    Item,
    SourceFile,
    Window,
)
from runner.catalogue.schema import schema_problems
from runner.catalogue.semantic import Reporter, check_maintenance
from runner.errors import CatalogueError, Problem, UsageError


@dataclass(kw_only=True)
class Result:
    """What checking a path found: problems (empty when valid), the files read, and the model if built."""

    problems: list[Problem] = field(default_factory=list)
    files: list[ParsedFile] = field(default_factory=list)
    catalogue: Catalogue | None = None
    cross_checked: bool = True

    def count(self, section: str) -> int:
        total = 0
        for pf in self.files:
            if pf.role != "inventory" and pf.doc is not None and isinstance(pf.doc.data, dict):
                value = pf.doc.data.get(section)
                total += len(value) if isinstance(value, (dict, list)) else 0
        return total

    @property
    def catalogue_files(self) -> list[ParsedFile]:
        return [pf for pf in self.files if pf.role != "inventory"]


def load_catalogue(root: Path) -> Catalogue:
    """The validated catalogue of the estate at ``root``; raises ``CatalogueError`` with every problem."""
    result = check_estate(root)
    if result.problems or result.catalogue is None:
        raise CatalogueError(result.problems or [Problem(file=str(root), message="no catalogue")])
    return result.catalogue


def validate_path(path: Path) -> list[Problem]:
    """Every problem of the estate, folder or file at ``path`` (empty when valid)."""
    return check_path(path).problems


def check_path(path: Path) -> Result:
    """Check an estate root, a folder or a single file.

    Inside an estate, the whole estate is loaded (so references resolve) and only the problems of
    files under ``path`` are kept. Outside one, files are checked on their own, without references.
    """
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    if path.is_dir() and any((path / d).is_dir() for d in files.ROLE_DIRS):
        return check_estate(path)
    root = _estate_of(path)
    if root is not None:
        result = check_estate(root)
        inside = [pf for pf in result.catalogue_files if _under(pf.path, path)]
        if not inside:
            return Result(problems=[_no_catalogue(path)], cross_checked=False)
        names = {pf.name for pf in inside}
        kept = [p for p in result.problems if p.file in names]
        return Result(problems=kept, files=inside, catalogue=result.catalogue if not kept else None)
    return _check_loose(path)


def _estate_of(path: Path) -> Path | None:
    here = path.resolve()
    for candidate in (here if here.is_dir() else here.parent, *here.parents):
        if (candidate / "maintenance").is_dir():
            return candidate
    return None


def _under(child: Path, parent: Path) -> bool:
    child, parent = child.resolve(), parent.resolve()
    return child == parent or parent in child.parents


def _no_catalogue(path: Path) -> Problem:
    return Problem(
        file=str(path),
        message="no catalogue here: expected *.yml files in maintenance/, patching/ or backup/",
    )


def check_estate(root: Path) -> Result:
    """Check every catalogue file of the estate at ``root`` and build the model if all is well."""
    # Loading creates hundreds of thousands of small objects and no cycles: the cyclic garbage
    # collector's passes over them would cost a third of the time without freeing anything.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _check_estate(root)
    finally:
        if enabled:
            gc.enable()


def _check_estate(root: Path) -> Result:
    result = Result()
    located = files.estate_files(root)
    if not located:
        result.problems.append(_no_catalogue(root))
        return result
    cache = FileCache.for_estate(root)
    for path, role in located:
        name = files.display_name(path, root)
        result.files.append(_read_and_check(path, role, name, result.problems, cache=cache))
    inventory, inventory_files = load_inventory(root, result.problems, cache=cache)
    cache.prune()
    parsed = list(result.files)
    result.files.extend(inventory_files)
    names = crossref.collect_names(parsed, result.problems)
    inventory_read = all(pf.doc is not None for pf in inventory_files)
    crossref.check_references(parsed, names, inventory, result.problems, check_targets=inventory_read)
    result.problems.sort(key=lambda p: (p.file, p.line, p.column))
    if not result.problems:
        result.catalogue = _build(root, result.files, inventory)
    return result


def _check_loose(path: Path) -> Result:
    """Files outside any estate: schema and semantic checks only."""
    result = Result(cross_checked=False)
    if path.is_file():
        paths = [path]
    elif path.resolve().name in files.ROLE_DIRS:
        paths = files.yaml_files(path)
    else:
        paths = []
    if not paths:
        result.problems.append(_no_catalogue(path))
        return result
    for file in paths:
        role = files.role_of(file, None) or "maintenance"
        result.files.append(_read_and_check(file, role, str(file), result.problems, guess_role=True))
    return result


def _read_and_check(
    path: Path,
    role: str,
    name: str,
    problems: list[Problem],
    *,
    guess_role: bool = False,
    cache: FileCache | None = None,
) -> ParsedFile:
    pf = files.read_file(path, role, name, problems, cache=cache)
    doc = pf.doc
    if doc is None or pf.cached:
        return pf
    before = len(problems)
    data: dict[str, Any] = doc.data
    if guess_role and role == "maintenance":
        role = "patching" if "baselines" in data else "backup" if "plans" in data else role
        pf = ParsedFile(path=pf.path, name=pf.name, role=role, sha256=pf.sha256, doc=doc)
    problems.extend(schema_problems(role, doc, name))
    if role == "maintenance":
        check_maintenance(Reporter(name, doc, problems), data)
    if cache is not None and len(problems) == before:
        cache.put(pf.sha256, role, doc)
    return pf


def _build(root: Path, parsed: list[ParsedFile], inventory: Inventory | None) -> Catalogue:
    windows: dict[str, Window] = {}
    baselines: dict[str, Baseline] = {}
    plans: dict[str, BackupPlan] = {}
    freezes: list[Freeze] = []
    items: list[Item] = []
    settings = build.settings({})
    for pf in parsed:
        if pf.doc is None or pf.role == "inventory":
            continue
        data: dict[str, Any] = pf.doc.data
        for name, spec in data.get("windows", {}).items():
            windows[name] = build.window(name, spec, pf.name, pf.doc)
        freezes.extend(build.freeze(n, s, pf.name, pf.doc) for n, s in data.get("freezes", {}).items())
        items.extend(build.item(i, s, pf.name, pf.doc) for i, s in enumerate(data.get("items", [])))
        for name, spec in data.get("baselines", {}).items():
            baselines[name] = build.baseline(name, spec, pf.name, pf.doc)
        for name, spec in data.get("plans", {}).items():
            plans[name] = build.plan(name, spec, pf.name, pf.doc)
        if "settings" in data:
            settings = build.settings(data["settings"])
    return Catalogue(
        root=str(root),
        windows=windows,
        freezes=tuple(freezes),
        items=tuple(items),
        baselines=baselines,
        plans=plans,
        inventory=inventory or Inventory(),
        settings=settings,
        files=tuple(SourceFile(path=pf.name, sha256=pf.sha256) for pf in parsed if pf.sha256),
    )

"""Checks across files: duplicate names and ids, and references to windows, baselines, plans and groups.

Host patterns that match no inventory host are errors, not warnings: a typo would otherwise make
an item silently touch nothing. Items that target only AWS tags are resolved at run time.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from runner.catalogue.files import ParsedFile
from runner.catalogue.model import Inventory
from runner.catalogue.semantic import Reporter
from runner.catalogue.yamlsafe import DataPath
from runner.errors import Problem

# What a name is declared under -> how messages call it.
_SECTIONS = {"windows": "window", "freezes": "freeze", "baselines": "baseline", "plans": "backup plan"}
# Which sections a file of each role may declare (others are the schema's to report).
_ROLE_SECTIONS = {
    "maintenance": ("windows", "freezes", "items", "settings"),
    "patching": ("baselines",),
    "backup": ("plans",),
}


class Names:
    """Where each window, freeze, baseline, plan and item id was declared first."""

    def __init__(self) -> None:
        self.declared: dict[str, dict[str, str]] = {s: {} for s in (*_SECTIONS, "items")}
        # Sections of which some file could not be read: a name missing there may be declared in it.
        self.unreadable: set[str] = set()

    def known(self, section: str, name: str) -> bool:
        return name in self.declared[section] or section in self.unreadable


def _reporters(parsed: list[ParsedFile], problems: list[Problem]) -> Iterator[tuple[ParsedFile, Reporter]]:
    for pf in parsed:
        if pf.doc is not None and isinstance(pf.doc.data, dict):
            yield pf, Reporter(pf.name, pf.doc, problems)


def collect_names(parsed: list[ParsedFile], problems: list[Problem]) -> Names:
    """Record every declaration; report the second and later declarations of a name."""
    names = Names()
    settings_in: str | None = None
    for pf in parsed:
        if pf.doc is None:
            names.unreadable.update(_ROLE_SECTIONS.get(pf.role, ()))
    for pf, rep in _reporters(parsed, problems):
        data: dict[str, Any] = pf.doc.data  # type: ignore[union-attr]
        allowed = _ROLE_SECTIONS.get(pf.role, ())
        for section, label in _SECTIONS.items():
            block = data.get(section) if section in allowed else None
            if not isinstance(block, dict):
                continue
            seen = names.declared[section]
            for name in block:
                if not isinstance(name, str):
                    continue  # the schema reports names YAML read as numbers, booleans or null
                if name in seen:
                    message = f"duplicate {label} name '{name}' (first declared in {seen[name]})"
                    rep.add((section, name), message, key=True)
                else:
                    seen[name] = _at(pf, (section, name))
        items = data.get("items") if "items" in allowed else None
        for index, spec in enumerate(items if isinstance(items, list) else []):
            item_id = spec.get("id") if isinstance(spec, dict) else None
            if isinstance(item_id, str):
                seen = names.declared["items"]
                if item_id in seen:
                    message = f"duplicate item id '{item_id}' (first declared in {seen[item_id]})"
                    rep.add(("items", index, "id"), message)
                else:
                    seen[item_id] = _at(pf, ("items", index))
        if "settings" in data and "settings" in allowed:
            if settings_in is not None:
                rep.add(("settings",), f"settings are declared twice (first in {settings_in})", key=True)
            else:
                settings_in = _at(pf, ("settings",))
    return names


def _at(pf: ParsedFile, path: DataPath) -> str:
    line, _ = pf.doc.locate(path, key=True) if pf.doc else (0, 0)
    return f"{pf.name}:{line}"


def _unknown(label: str, name: str, known: dict[str, str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if close:
        return f"unknown {label} '{name}'; did you mean '{close[0]}'?"
    if not known:
        return f"unknown {label} '{name}' (none are declared)"
    return f"unknown {label} '{name}' ({len(known)} declared, none close)"


def check_references(
    parsed: list[ParsedFile],
    names: Names,
    inventory: Inventory | None,
    problems: list[Problem],
    *,
    check_targets: bool = True,
) -> None:
    """Report every reference to something that is not declared.

    ``check_targets`` False (an inventory file could not be read) skips groups and host patterns.
    """
    matcher = _HostMatcher(inventory) if check_targets else None
    for pf, rep in _reporters(parsed, problems):
        if pf.role != "maintenance":
            continue
        data: dict[str, Any] = pf.doc.data  # type: ignore[union-attr]
        items = data.get("items")
        for index, spec in enumerate(items if isinstance(items, list) else []):
            if isinstance(spec, dict):
                _check_item(rep, ("items", index), spec, names, inventory, matcher)
        if matcher is None:
            continue
        freezes = data.get("freezes")
        for name, spec in (freezes if isinstance(freezes, dict) else {}).items():
            groups = spec.get("groups") if isinstance(spec, dict) else None
            _check_groups(rep, ("freezes", name, "groups"), groups, inventory)


def _check_item(
    rep: Reporter, path: DataPath, spec: dict[str, Any], names: Names, inventory: Inventory | None,
    matcher: _HostMatcher | None,
) -> None:
    window = spec.get("window")
    if isinstance(window, str) and not names.known("windows", window):
        rep.add((*path, "window"), _unknown("window", window, names.declared["windows"]))
    for kind, key, section in (("patch", "baseline", "baselines"), ("backup", "plan", "plans")):
        block = spec.get(kind)
        ref = block.get(key) if isinstance(block, dict) else None
        if isinstance(ref, str) and not names.known(section, ref):
            rep.add((*path, kind, key), _unknown(_SECTIONS[section], ref, names.declared[section]))
    targets = spec.get("targets")
    if not isinstance(targets, dict) or matcher is None:
        return
    _check_groups(rep, (*path, "targets", "groups"), targets.get("groups"), inventory)
    hosts = targets.get("hosts")
    for index, pattern in enumerate(hosts if isinstance(hosts, list) else []):
        if isinstance(pattern, str):
            message = matcher.problem(pattern)
            if message:
                rep.add((*path, "targets", "hosts", index), message)


def _check_groups(rep: Reporter, path: DataPath, groups: Any, inventory: Inventory | None) -> None:
    for index, group in enumerate(groups if isinstance(groups, list) else []):
        if not isinstance(group, str):
            continue
        if inventory is None:
            rep.add((*path, index), f"inventory group '{group}' cannot exist: the estate has no inventory/ folder")
        elif group not in inventory.groups:
            rep.add((*path, index), _unknown("inventory group", group, tuple(inventory.groups)))


class _HostMatcher:
    """Host patterns (globs, or ``~regex``) checked against the inventory's hosts, memoised."""

    def __init__(self, inventory: Inventory | None) -> None:
        self.hosts = inventory.hosts if inventory is not None else ()
        self.has_inventory = inventory is not None
        self.memo: dict[str, str | None] = {}

    def problem(self, pattern: str) -> str | None:
        if pattern not in self.memo:
            self.memo[pattern] = self._problem(pattern)
        return self.memo[pattern]

    def _problem(self, pattern: str) -> str | None:
        if pattern.startswith("~"):
            try:
                regex = re.compile(pattern[1:])
            except re.error as exc:
                return f"invalid host regex {pattern!r}: {exc}"
            matched = any(regex.match(h) for h in self.hosts)
        else:
            matched = any(fnmatch.fnmatchcase(h, pattern) for h in self.hosts)
        if matched:
            return None
        if not self.has_inventory:
            return f"host pattern '{pattern}' cannot match: the estate has no inventory/ folder"
        return f"host pattern '{pattern}' matches no inventory host"

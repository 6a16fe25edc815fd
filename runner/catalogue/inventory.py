"""The estate's Ansible inventory, reduced to group -> hosts (children included) and host variables.

Reads YAML inventories (``all: {hosts, children, vars}``) and simple INI ones (``[group]``,
``[group:children]``, ``[group:vars]``, ``host key=value``). Dynamic inventory scripts and plugins
are not evaluated: cloud targets are resolved at run time.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.catalogue import files
from runner.catalogue.model import Inventory
from runner.catalogue.semantic import Reporter
from runner.errors import Problem

if TYPE_CHECKING:
    from runner.catalogue.cache import FileCache

INI_NAMES = ("hosts", "inventory")
_RANGE = re.compile(r"\[([0-9]+):([0-9]+)\]")


@dataclass
class _Groups:
    hosts: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict)

    def group(self, name: str) -> None:
        self.hosts.setdefault(name, [])
        self.children.setdefault(name, [])

    def add_host(self, group: str, host: str, hostvars: dict[str, Any]) -> None:
        self.group(group)
        if host not in self.hosts[group]:
            self.hosts[group].append(host)
        self.hostvars.setdefault(host, {}).update(hostvars)


def inventory_files(root: Path) -> list[Path]:
    folder = root / "inventory"
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix in files.YAML_SUFFIXES or path.suffix == ".ini" or path.name in INI_NAMES:
            out.append(path)
    return out


def load_inventory(
    root: Path, problems: list[Problem], *, cache: FileCache | None = None
) -> tuple[Inventory | None, list[files.ParsedFile]]:
    """The inventory under ``root/inventory`` (None when there is none) and the files it came from.

    ``cache`` keeps parsed YAML inventory files by content (the group rules are checked every time).
    """
    paths = inventory_files(root)
    if not paths:
        return None, []
    groups = _Groups()
    groups.group("all")
    parsed: list[files.ParsedFile] = []
    for path in paths:
        name = files.display_name(path, root)
        if path.suffix in files.YAML_SUFFIXES:
            pf = files.read_file(
                path, "inventory", name, problems, extra_tags=frozenset({"!vault", "!unsafe"}), cache=cache
            )
            if cache is not None and pf.doc is not None and not pf.cached:
                cache.put(pf.sha256, "inventory", pf.doc)
            parsed.append(pf)
            if pf.doc is not None:
                rep = Reporter(name, pf.doc, problems)
                for group, spec in pf.doc.data.items():
                    _yaml_group(rep, groups, str(group), spec, (group,))
        else:
            _ini(path, name, groups, problems)
    return _resolve(groups), parsed


def _yaml_group(rep: Reporter, groups: _Groups, name: str, spec: Any, path: tuple[str, ...]) -> None:
    groups.group(name)
    if spec is None:
        return
    if not isinstance(spec, dict):
        rep.add(path, "an inventory group is a mapping with hosts, children or vars")
        return
    for key in spec:
        if key not in ("hosts", "children", "vars"):
            message = f"unknown key '{key}' in an inventory group (allowed: children, hosts, vars)"
            rep.add((*path, key), message, key=True)
    hosts = spec.get("hosts") or {}
    if not isinstance(hosts, dict):
        rep.add((*path, "hosts"), "expected a mapping of host name -> variables")
        hosts = {}
    for host, hostvars in hosts.items():
        for expanded in expand_hosts(str(host)):
            groups.add_host(name, expanded, hostvars if isinstance(hostvars, dict) else {})
    children = spec.get("children") or {}
    if not isinstance(children, dict):
        rep.add((*path, "children"), "expected a mapping of group name -> group")
        return
    for child, child_spec in children.items():
        if str(child) not in groups.children[name]:
            groups.children[name].append(str(child))
        _yaml_group(rep, groups, str(child), child_spec, (*path, "children", child))


def expand_hosts(pattern: str) -> list[str]:
    """Ansible's numeric host ranges: ``web[01:03]`` -> web01, web02, web03."""
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    low, high = match.group(1), match.group(2)
    width = len(low) if low.startswith("0") else 0
    out: list[str] = []
    for number in range(int(low), int(high) + 1):
        head, tail = pattern[: match.start()], pattern[match.end() :]
        out.extend(expand_hosts(f"{head}{number:0{width}d}{tail}"))
    return out


def _ini(path: Path, name: str, groups: _Groups, problems: list[Problem]) -> None:
    try:
        raw = path.read_bytes()
        from runner.catalogue.yamlsafe import YamlError, decode

        text = decode(raw)
    except (OSError, YamlError) as exc:
        problems.append(Problem(file=name, message=f"cannot read inventory: {exc}"))
        return
    section, mode = "ungrouped", "hosts"
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                problems.append(Problem(file=name, line=number, column=1, message="unclosed [section]"))
                continue
            section, _, mode = stripped[1:-1].partition(":")
            mode = mode or "hosts"
            groups.group(section)
            continue
        if mode == "children":
            groups.group(stripped)
            if stripped not in groups.children[section]:
                groups.children[section].append(stripped)
        elif mode == "hosts":
            _ini_host(stripped, section, groups, name, number, problems)


def _ini_host(line: str, section: str, groups: _Groups, name: str, number: int, problems: list[Problem]) -> None:
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        problems.append(Problem(file=name, line=number, column=1, message=f"cannot parse host line: {exc}"))
        return
    if not words:
        return
    hostvars = dict(word.split("=", 1) for word in words[1:] if "=" in word)
    for host in expand_hosts(words[0]):
        groups.add_host(section, host, hostvars)


def _resolve(groups: _Groups) -> Inventory:
    """Flatten children into each group's host list; every host is in ``all``."""
    resolved: dict[str, tuple[str, ...]] = {}

    def members(name: str, trail: tuple[str, ...]) -> list[str]:
        if name in resolved:
            return list(resolved[name])
        out = list(groups.hosts.get(name, []))
        for child in groups.children.get(name, []):
            if child not in trail:  # a cycle in children is Ansible's error to report; do not loop
                out.extend(h for h in members(child, (*trail, child)) if h not in out)
        return out

    for name in groups.hosts:
        resolved[name] = tuple(members(name, (name,)))
    every = list(resolved.get("all", ()))
    every.extend(h for h in groups.hostvars if h not in every)
    resolved["all"] = tuple(every)
    grouped = {h for n, hs in resolved.items() if n not in ("all", "ungrouped") for h in hs}
    resolved["ungrouped"] = tuple(h for h in every if h not in grouped)
    return Inventory(groups=resolved, hostvars={h: dict(v) for h, v in groups.hostvars.items()})

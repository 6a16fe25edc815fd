"""Which hosts an item touches: inventory groups plus host patterns (fnmatch), resolved once per shape."""

from __future__ import annotations

import fnmatch
import re

from runner.catalogue.model import Inventory, Targets

_MAGIC = re.compile(r"[*?\[]")


class HostResolver:
    """Resolves targets against one inventory; items with the same targets share one result."""

    def __init__(self, inventory: Inventory) -> None:
        self._groups = inventory.groups
        self._hosts = inventory.hosts
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}
        self._pattern_cache: dict[str, tuple[str, ...]] = {}
        self._groups_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], frozenset[str]] = {}
        self._host_groups: dict[str, set[str]] = {}
        for group, members in self._groups.items():
            for host in members:
                self._host_groups.setdefault(host, set()).add(group)

    def hosts(self, targets: Targets) -> tuple[str, ...]:
        """Hosts of ``targets`` in inventory order, each once. ``all`` is every host unless declared.

        A pattern without wildcards names one host, even one the inventory does not list (the loader's
        cross-reference check reports those).
        """
        key = (tuple(targets.groups), tuple(targets.hosts))
        found = self._cache.get(key)
        if found is None:
            seen: dict[str, None] = {}
            for group in targets.groups:
                members = self._groups.get(group)
                if members is None and group == "all":
                    members = self._hosts
                seen.update(dict.fromkeys(members or ()))
            for pattern in targets.hosts:
                seen.update(dict.fromkeys(self._match(pattern)))
            found = self._cache[key] = tuple(seen)
        return found

    def _match(self, pattern: str) -> tuple[str, ...]:
        found = self._pattern_cache.get(pattern)
        if found is None:
            if _MAGIC.search(pattern):
                found = tuple(fnmatch.filter(self._hosts, pattern))
            else:
                found = (pattern,)
            self._pattern_cache[pattern] = found
        return found

    def groups_of(self, targets: Targets) -> frozenset[str]:
        """The groups an item touches: those it names plus every group of each of its hosts."""
        key = (tuple(targets.groups), tuple(targets.hosts))
        found = self._groups_cache.get(key)
        if found is None:
            out = set(targets.groups)
            for host in self.hosts(targets):
                out.update(self._host_groups.get(host, ()))
            found = self._groups_cache[key] = frozenset(out)
        return found

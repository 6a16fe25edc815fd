"""Which kind runner runs an item, and where the estate's inventory is: what the engine needs of an
item before its run, kept light so a prestart (``runner.engine.prestart``) can use it early."""

from __future__ import annotations

import importlib
from pathlib import Path

from runner.catalogue.model import Catalogue, Item
from runner.engine.kind import KindRunner
from runner.errors import UsageError


def load_kind(item: Item) -> KindRunner:
    """The kind runner for ``item``: ``settings.runner``, else its kind, else ``playbook`` for items
    that name a playbook and whose kind has no runner yet."""
    from runner.kinds import REGISTRY

    name = str(item.settings.get("runner") or "")
    if not name:
        name = item.kind if item.kind in REGISTRY or "playbook" not in item.settings else "playbook"
    spec = REGISTRY.get(name)
    if spec is None:
        raise UsageError(f"item {item.id}: no runner for kind {name!r} (known: {', '.join(sorted(REGISTRY))})")
    module, _, cls = spec.partition(":")
    runner: KindRunner = getattr(importlib.import_module(module), cls)()
    return runner


def inventory_paths(root: Path, catalogue: Catalogue) -> list[Path]:
    """The estate's inventory sources (``settings.ansible.inventory``, default ``inventory``)."""
    inv = catalogue.settings.ansible.get("inventory") or "inventory"
    items = inv if isinstance(inv, (list, tuple)) else [inv]
    return [p if p.is_absolute() else root / p for p in map(Path, items)]

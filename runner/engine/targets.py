"""Resolve an item's targets to hosts: inventory groups, host patterns, AWS tag selectors.

Order matters (the canary is the first host): groups in the order the item names them, each group's
members in inventory order, then host patterns in order; duplicates keep their first place.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.catalogue.model import Inventory, Targets
from runner.errors import UsageError


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """An item's hosts in order, with what Ansible needs for those found in AWS."""

    hosts: tuple[str, ...]
    hostvars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # hosts resolved from AWS
    extra_inventory: Path | None = None


def inventory_hosts(inventory: Inventory, targets: Targets, item_id: str = "") -> list[str]:
    """Hosts named by groups and host patterns (pure). Unknown groups or unmatched patterns are errors."""
    known = inventory.hosts
    out: dict[str, None] = {}
    for group in targets.groups:
        if group == "all":
            members: tuple[str, ...] = known
        elif group in inventory.groups:
            members = inventory.groups[group]
        else:
            raise UsageError(f"item {item_id}: targets.groups: no inventory group {group!r}")
        for host in members:
            out.setdefault(host, None)
    for pattern in targets.hosts:
        matched = [h for h in known if fnmatch.fnmatchcase(h, pattern)]
        if not matched:
            raise UsageError(f"item {item_id}: targets.hosts: {pattern!r} matches no inventory host")
        for host in matched:
            out.setdefault(host, None)
    return list(out)


def resolve(
    inventory: Inventory,
    targets: Targets,
    *,
    item_id: str,
    aws_settings: Mapping[str, Any],
    run_dir: Path,
) -> Resolved:
    """Inventory hosts plus EC2 instances matching ``targets.aws_tags`` (written to an extra inventory)."""
    hosts = inventory_hosts(inventory, targets, item_id)
    if not targets.aws_tags:
        if not hosts:
            raise UsageError(f"item {item_id}: targets resolve to no hosts")
        return Resolved(hosts=tuple(hosts))
    from runner.adapters.aws import AwsSessions, resolve_tag_targets

    found = resolve_tag_targets(AwsSessions.from_settings(aws_settings), targets.aws_tags)
    defaults = dict(aws_settings.get("hostvars") or {})
    hostvars = {h.name: {**defaults, "ansible_host": h.address, "ec2_tags": dict(h.tags)} for h in found}
    for h in found:
        if h.name not in hosts:
            hosts.append(h.name)
    if not hosts:
        raise UsageError(f"item {item_id}: targets resolve to no hosts (AWS tags {dict(targets.aws_tags)})")
    extra = None
    if hostvars:
        extra = run_dir / "aws-inventory.json"
        run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(extra, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # A YAML-compatible JSON inventory Ansible reads with its yaml plugin.
            json.dump({"all": {"children": {"maintctl_aws": {"hosts": hostvars}}}}, fh, indent=1)
    return Resolved(hosts=tuple(hosts), hostvars=hostvars, extra_inventory=extra)

"""Check one drift item: its playbooks in check+diff mode, its AWS baselines, then its waivers.

Used by the ``drift`` kind runner (scheduled runs through the engine) and by ``maintctl drift``.
``now`` is a parameter: waiver expiry is decided by the caller's clock, never read here.

What only the results need (classification, waivers, findings) is imported inside the functions that
use it, and ahead of them on a playbook's first event (``while_running``): the imports then happen
while ansible-playbook runs on the other core, not before it starts or after it exits.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.catalogue.model import Catalogue, Item
from runner.errors import MaintctlError
from runner.kinds.drift.settings import AwsBaseline, DriftSettings, parse

if TYPE_CHECKING:
    from runner.kinds.drift.findings import Finding, ItemReport

EventHandler = Callable[[Mapping[str, Any]], None]
_RESULT_MODULES = ("runner.kinds.drift.classify", "runner.kinds.drift.waivers")


@dataclass(kw_only=True)
class CheckOptions:
    """How to reach the estate: inventory sources, forks, where temporary run folders go."""

    estate_root: Path
    inventory: list[Path] = field(default_factory=list)
    forks: int | None = None
    work_dir: Path | None = None
    on_event: EventHandler | None = None
    cancel: Callable[[], bool] | None = None
    on_start: Callable[[], None] | None = None  # called on each playbook's first event, see while_running
    spec: dict[str, Any] = field(default_factory=dict)  # PlaybookSpec settings (known_hosts, strategy, ...)


def options_for(catalogue: Catalogue, estate_root: Path, **kw: Any) -> CheckOptions:
    """CheckOptions with the estate's Ansible settings (inventory, forks, ...), as the engine uses them."""
    conf = catalogue.settings.ansible
    inv = conf.get("inventory") or "inventory"
    sources = [Path(p) if Path(p).is_absolute() else estate_root / p for p in ([inv] if isinstance(inv, str) else inv)]
    kw.setdefault("inventory", sources)
    kw.setdefault("forks", int(conf["forks"]) if conf.get("forks") else None)
    return CheckOptions(estate_root=estate_root, spec=spec_settings(catalogue, estate_root), **kw)


def spec_settings(catalogue: Catalogue, estate_root: Path) -> dict[str, Any]:
    """PlaybookSpec settings from ``settings.ansible``, as the engine applies them to every run."""
    from runner.adapters.known_hosts import known_hosts_path

    conf = catalogue.settings.ansible
    kh = known_hosts_path(estate_root, conf)
    return {
        "strategy": str(conf.get("strategy", "linear")),
        "pipelining": bool(conf.get("pipelining", True)),
        "known_hosts": kh if kh.is_file() else None,
        "interpreter": str(conf.get("interpreter", "/usr/bin/python3")),
        "timeout": int(conf["timeout"]) if conf.get("timeout") else None,
    }


def settings_of(item: Item, catalogue: Catalogue) -> DriftSettings:
    """The item's drift settings (``settings`` is the ``drift:`` block, or holds it under ``drift``)."""
    raw: Mapping[str, Any] = item.settings
    if isinstance(raw.get("drift"), Mapping):
        raw = raw["drift"]
    return parse(item.id, raw, catalogue.settings.aws.get("estate_tag"))


def resolve_hosts(item: Item, catalogue: Catalogue) -> list[str]:
    """The item's hosts from the catalogue's inventory: its groups, then host patterns, in order."""
    inv = catalogue.inventory
    out: dict[str, None] = {}
    for group in item.targets.groups:
        out.update(dict.fromkeys(inv.groups.get(group, ())))
    for pattern in item.targets.hosts:
        matched = [h for h in inv.hosts if fnmatchcase(h, pattern)] or ([pattern] if "*" not in pattern else [])
        out.update(dict.fromkeys(matched))
    return list(out)


def playbook_path(root: Path, name: str) -> Path:
    """As the engine resolves playbooks: under the estate's playbooks/ folder, else from the root."""
    path = Path(name)
    if path.is_absolute():
        return path
    under = root / "playbooks" / path
    return (under if under.exists() or not (root / path).exists() else root / path).resolve()


def inventory_sources(opts: CheckOptions) -> list[Path]:
    if opts.inventory:
        return opts.inventory
    inv = opts.estate_root / "inventory"
    if not inv.exists():
        raise MaintctlError(f"{inv}: the estate has no inventory/ folder")
    return [inv]


def check_playbooks(
    item: Item, s: DriftSettings, hosts: Sequence[str], opts: CheckOptions, *, apply: bool = False
) -> tuple[list[Finding], list[str]]:
    """Run each playbook in check+diff mode (apply mode with ``apply``) on ``hosts``; classify."""
    from runner.kinds.drift.ansible_check import run_playbook, spec_for

    findings: list[Finding] = []
    errors: list[str] = []
    if not hosts:
        return findings, errors
    for name in s.playbooks:
        playbook = playbook_path(opts.estate_root, name)
        spec = spec_for(
            playbook,
            inventory_sources(opts),
            check=not apply,
            forks=s.forks or opts.forks or 10,
            hosts=list(hosts),
            extravars=dict(s.extravars),
        )
        try:
            run = run_playbook(
                spec,
                on_event=opts.on_event,
                cancel=opts.cancel,
                work_dir=opts.work_dir,
                on_start=lambda: while_running(opts),
            )
        except MaintctlError as exc:
            errors.append(f"{name}: {exc}")
            continue
        from runner.kinds.drift.classify import classify

        found = classify(item.id, run.events, run.skip_reasons, hosts=hosts)
        if apply:  # in apply mode only failures matter: what changed is judged by the re-check
            found = [f for f in found if f.status == "error"]
        findings += [_relative(f, opts.estate_root) for f in found]
    return findings, errors


def while_running(opts: CheckOptions) -> None:
    """Import what turns events into findings, then call ``opts.on_start``: a playbook has just started."""
    for name in _RESULT_MODULES:
        importlib.import_module(name)
    if opts.on_start is not None:
        opts.on_start()


def remediate(
    item: Item, s: DriftSettings, hosts: Sequence[str], opts: CheckOptions, now: datetime
) -> tuple[list[Finding], list[str]]:
    """Check, apply the playbooks on hosts with unwaived drift, re-check those hosts.

    Findings are the re-check's for remediated hosts (noted "remediated" where drift is gone) and
    the first check's for the others; failures of the apply run are errors.
    """
    from dataclasses import replace

    from runner.kinds.drift import waivers

    before, errors = check_playbooks(item, s, hosts, opts)
    judged = waivers.apply(before, s.waivers, now)
    drifted = sorted({f.target for f in judged if f.status == "drift"})
    if not drifted or errors:
        return before, errors
    applied, apply_errors = check_playbooks(item, s, drifted, opts, apply=True)
    after, after_errors = check_playbooks(item, s, drifted, opts)
    was = {(f.target, f.check) for f in judged if f.status == "drift"}
    after = [
        replace(f, note="remediated: was drifted", diff="")
        if (f.target, f.check) in was and f.status == "in_sync"
        else f
        for f in after
    ]
    kept = [f for f in before if f.target not in drifted]
    return kept + after + applied, errors + apply_errors + after_errors


def _relative(f: Finding, root: Path) -> Finding:
    """Task locations relative to the estate root, so reports match the repository's paths."""
    if not f.location:
        return f
    from dataclasses import replace

    path, _, line = f.location.rpartition(":")
    try:
        rel = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return f
    return replace(f, location=f"{rel}:{line}")


def all_baselines(catalogue: Catalogue) -> list[AwsBaseline]:
    out = []
    for it in catalogue.items:
        if it.kind == "drift":
            s = settings_of(it, catalogue)
            if s.aws is not None:
                out.append(s.aws)
    return out


def check_aws(item: Item, s: DriftSettings, catalogue: Catalogue) -> tuple[list[Finding], list[str]]:
    """Compare the item's AWS baselines with live state; list unmanaged tagged resources."""
    if s.aws is None:
        return [], []
    from runner.kinds.drift.aws_compare import compare, declared_names, unmanaged
    from runner.kinds.drift.aws_live import live_state, session

    try:
        live = live_state(session(catalogue.settings.aws, s.aws.region), s.aws, s.estate_tag)
    except MaintctlError as exc:
        return [], [str(exc)]
    findings = compare(item.id, s.aws, live)
    if s.aws.unmanaged and s.estate_tag:
        findings += unmanaged(item.id, s.estate_tag, live.tagged, declared_names(all_baselines(catalogue)))
    return findings, []


def check_item(
    item: Item, catalogue: Catalogue, opts: CheckOptions, now: datetime, hosts: Sequence[str] | None = None
) -> ItemReport:
    """The full drift report of one item: playbooks on ``hosts`` (default: its targets) and AWS."""
    s = settings_of(item, catalogue)
    targets = list(hosts) if hosts is not None else resolve_hosts(item, catalogue)
    found, errors = check_playbooks(item, s, targets, opts)
    aws_found, aws_errors = check_aws(item, s, catalogue)
    return finish(item, s, found + aws_found, errors + aws_errors, now)


def finish(item: Item, s: DriftSettings, found: list[Finding], errors: list[str], now: datetime) -> ItemReport:
    """Apply waivers and build the item's report."""
    from runner.kinds.drift import waivers
    from runner.kinds.drift.findings import ItemReport

    final = waivers.apply(found, s.waivers, now)
    notes = tuple(f"waiver {w} covers no finding" for w in waivers.unused(final, s.waivers))
    loc = item.location
    return ItemReport(
        item=item.id,
        findings=tuple(final),
        errors=tuple(errors),
        notes=notes,
        location=f"{loc.file}:{loc.line}" if loc.line else loc.file,
    )

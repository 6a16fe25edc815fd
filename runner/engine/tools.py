"""What a kind uses to touch hosts and clouds, with the run's settings already applied.

    from runner.engine import tools

    result = tools.playbook(ctx, hosts, "patch.yml", extravars={...}, check=False, diff=True)
    # result.hosts[h] is a HostResult with its steps; steps were streamed into the run as they came
    out = tools.ssh(ctx, "web1", "dpkg-query -W nginx")          # Result; CommandFailed on exit != 0
    ec2 = tools.aws(ctx).client("ec2")
    with tools.session(ctx, "patch-apply.yml", lead=["patch-scan.yml"], extravars={...}) as s:
        ...  # one ansible-playbook for the whole rollout, see runner.adapters.ansible_session

Every playbook run gets a fresh private data dir under the run's state folder (0700), the run's
inventory sources, the estate's known_hosts (host key checking on), the explicit forks / strategy /
pipelining from ``settings.ansible``, and the run's cancel signal.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

if TYPE_CHECKING:
    from runner.adapters.ansible import PlaybookResult, PlaybookSpec
    from runner.adapters.ansible_session import PlaybookSession
    from runner.adapters.aws import AwsSessions
    from runner.adapters.ssh import Result, SSHTarget
    from runner.engine.kind import RunContext

_counter = itertools.count(1)


def inventory_sources(ctx: RunContext) -> list[Path]:
    """The run's inventory sources: ``ctx.options["inventory"]`` or ``settings.ansible.inventory``."""
    root = Path(ctx.estate_root)
    inv = ctx.options.get("inventory") or ctx.catalogue.settings.ansible.get("inventory") or "inventory"
    items = inv if isinstance(inv, (list, tuple)) else [inv]
    return [p if p.is_absolute() else root / p for p in map(Path, items)]


def known_hosts(ctx: RunContext) -> Path | None:
    """The configured known_hosts file, or None (then the inventory's SSH args or ~/.ssh decide)."""
    from runner.adapters.ssh import configured_known_hosts

    return configured_known_hosts(Path(ctx.estate_root), ctx.catalogue.settings.ansible)


def playbook_path(ctx: RunContext, playbook: str | Path) -> Path:
    """A playbook named relative to the estate's playbooks/ folder (or the estate root), or absolute."""
    path = Path(playbook)
    if path.is_absolute():
        return path
    root = Path(ctx.estate_root)
    under = root / "playbooks" / path
    return under if under.exists() or not (root / path).exists() else root / path


def data_dir(ctx: RunContext, label: str) -> Path:
    """A fresh private folder for one adapter call of this run, in the run's folder of the state folder.

    ``ctx.state_dir`` is the state folder itself (not an estate root to find it from).
    """
    import os

    base = Path(ctx.state_dir) / "runs" / ctx.run_id
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    return base / f"{next(_counter):03d}-{label}"


class SpecOptions(TypedDict, total=False):
    """What a kind may choose for one playbook run; everything else comes from the run's settings."""

    extravars: Mapping[str, Any] | None
    check: bool | None  # default: the run's mode (ctx.mode == "check")
    diff: bool
    tags: Sequence[str]
    skip_tags: Sequence[str]


def playbook_spec(
    ctx: RunContext, hosts: Sequence[str], playbook: str | Path, **options: Unpack[SpecOptions]
) -> PlaybookSpec:
    """The adapter's spec for ``playbook`` on ``hosts`` with the run's settings (``settings.ansible``)."""
    from runner.adapters.ansible import PlaybookSpec

    conf = ctx.catalogue.settings.ansible
    check = options.get("check")
    return PlaybookSpec(
        playbook=playbook_path(ctx, playbook),
        inventory=inventory_sources(ctx),
        hosts=list(hosts),
        extravars=dict(options.get("extravars") or {}),
        check=ctx.mode == "check" if check is None else check,
        diff=options.get("diff", False),
        tags=tuple(options.get("tags", ())),
        skip_tags=tuple(options.get("skip_tags", ())),
        forks=int(conf.get("forks", 10)),
        strategy=str(conf.get("strategy", "linear")),
        pipelining=bool(conf.get("pipelining", True)),
        known_hosts=known_hosts(ctx),
        interpreter=str(conf.get("interpreter", "/usr/bin/python3")),
        timeout=int(conf["timeout"]) if conf.get("timeout") else None,
        keep_events=bool(conf.get("keep_events", False)),
    )


def playbook(
    ctx: RunContext, hosts: Sequence[str], playbook: str | Path, *, label: str = "ansible",
    **options: Unpack[SpecOptions],
) -> PlaybookResult:
    """Run ``playbook`` on ``hosts`` through the Ansible adapter with the run's settings.

    ``check`` defaults to the run's mode (``ctx.mode == "check"``). Raises ``AdapterError`` when
    Ansible could not run the playbook at all.
    """
    from runner.adapters.ansible import run_playbook

    spec = playbook_spec(ctx, hosts, playbook, **options)
    return run_playbook(spec, data_dir=data_dir(ctx, label), on_step=ctx.on_step, cancel=ctx.cancel)


def session(
    ctx: RunContext,
    playbook: str | Path,
    *,
    lead: Sequence[str | Path] = (),
    extravars: Mapping[str, Any] | None = None,
    check: bool | None = None,
    held: bool = False,
) -> PlaybookSession:
    """A started Ansible session for the whole rollout (``runner.adapters.ansible_session``): ``lead``
    playbooks on every host of the run, then the gated ``playbook`` batch by batch (``ctx.batches``).
    ``held``: it waits before its first play until ``release(session, ctx)``.

    Steps reach ``ctx.on_step`` (looked up when they arrive, so the engine's sink set later counts);
    the session stops with the run's cancel signal. The caller closes it.
    """
    from runner.adapters.ansible_session import PlaybookSession

    spec = playbook_spec(ctx, ctx.hosts, playbook, extravars=extravars, check=check)
    batches = list(ctx.batches) or [tuple(ctx.hosts)]
    started = PlaybookSession(
        spec, lead=[playbook_path(ctx, p) for p in lead], batches=batches,
        data_dir=lambda label: data_dir(ctx, label), on_step=lambda h, s: ctx.on_step(h, s), cancel=ctx.cancel,
    )
    try:
        started.start(held=held)
    except BaseException:
        started.close()
        raise
    return started


def release(session: PlaybookSession, ctx: RunContext) -> None:
    """Let a held session (started for a provisional context) run for ``ctx``: its steps and cancel signal."""
    session.release(on_step=lambda h, s: ctx.on_step(h, s), cancel=ctx.cancel)


def ssh_target(ctx: RunContext, host: str) -> SSHTarget:
    """How to reach ``host``: its connection variables as Ansible resolves them from the run's inventory."""
    from runner.adapters.inventory import connection_vars
    from runner.adapters.ssh import SSHTarget

    extra = ctx.options.get("hostvars", {}).get(host)
    hostvars = dict(extra) if extra is not None else connection_vars(inventory_sources(ctx), host)
    return SSHTarget.from_hostvars(host, hostvars, known_hosts(ctx))


def ssh(ctx: RunContext, host: str, command: str, *, timeout: float = 60, check: bool = True) -> Result:
    """Run one command on ``host`` over SSH (host keys checked); ``CommandFailed`` on failure."""
    from runner.adapters.ssh import run_command

    return run_command(ssh_target(ctx, host), command, timeout=timeout, check=check)


def aws(ctx: RunContext) -> AwsSessions:
    """The estate's boto3 session factory (``settings.aws``)."""
    from runner.adapters.aws import AwsSessions

    return AwsSessions.from_settings(ctx.catalogue.settings.aws)

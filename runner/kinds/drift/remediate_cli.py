"""``maintctl drift --remediate``: hand each item to the engine as a run in apply mode.

The engine owns what makes changing hosts safe: the item's window (outside it only with
``--force --reason``), the lease, the change record, batches and evidence. The drift kind's apply
mode then checks, applies the playbooks to drifted hosts only, and re-checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.errors import MaintctlError


def remediate_items(root: Path, catalogue: Any, items: Sequence[Any], *, force: bool, reason: str) -> int:
    """Run every item through ``maintctl run``; return 1 if any run failed, else 0."""
    from runner.cli.main import COMMANDS, main
    from runner.kinds.drift.runner import REMEDIATE_REQUESTED

    if "run" not in COMMANDS:
        raise MaintctlError("--remediate needs the engine's `maintctl run` command, which this build lacks")
    if force and not reason:
        raise MaintctlError("--force needs --reason: an ad-hoc remediation outside the window must say why")
    worst = 0
    for item in items:
        argv = ["--estate", str(root), "run", item.id]
        if force:
            argv += ["--force", "--reason", reason]
        REMEDIATE_REQUESTED.add(item.id)
        try:
            rc = main(argv)
        finally:
            REMEDIATE_REQUESTED.discard(item.id)
        worst = max(worst, 0 if rc == 0 else 1)
    return worst

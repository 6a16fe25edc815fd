"""When restore verification happens: every Nth backup run, and which slice restic check reads.

Pure functions over the run counter kept in the backup state; no clock, no I/O.
"""

from __future__ import annotations

from runner.kinds.backup.plans import VerifyPolicy


def restore_due(policy: VerifyPolicy, run_number: int, *, forced: bool = False) -> bool:
    """Whether backup run ``run_number`` (1-based, per item) includes a restore test.

    ``every: N`` verifies runs 1, N+1, 2N+1, ... so a new item is proven on its first run.
    """
    if forced:
        return True
    if policy.every <= 0:
        return False
    return (run_number - 1) % policy.every == 0


def check_subset(policy: VerifyPolicy, run_number: int) -> str | None:
    """The ``--read-data-subset`` for this run: rotating n/T so T runs together read every pack.

    ``"all"`` when the plan reads all data each time; None for a structure-only check.
    """
    if policy.read_all_data:
        return "all"
    total = policy.check_subset
    if total <= 0:
        return None
    return f"{(run_number - 1) % total + 1}/{total}"

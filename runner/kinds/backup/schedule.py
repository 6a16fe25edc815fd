"""When restore verification happens: every Nth backup run or at most once per interval, and
which slice of the repository ``restic check`` reads. Pure functions; time is a parameter.
"""

from __future__ import annotations

from datetime import datetime

from runner.kinds.backup.plans import VerifyPolicy


def restore_due(
    policy: VerifyPolicy,
    run_number: int,
    *,
    now: datetime | None = None,
    last_verified: datetime | None = None,
    forced: bool = False,
) -> bool:
    """Whether backup run ``run_number`` (1-based, per item) includes a restore test.

    ``every: N`` verifies runs 1, N+1, 2N+1, ... so a new item is proven on its first run;
    ``every: 7d`` verifies when the last passing restore test is older than seven days (or missing).
    """
    if forced:
        return True
    if policy.min_interval is not None:
        return last_verified is None or now is None or now - last_verified >= policy.min_interval
    if policy.every <= 0:
        return False
    return (run_number - 1) % policy.every == 0


def check_subset(policy: VerifyPolicy, run_number: int) -> str | None:
    """The ``--read-data-subset`` for this run, or None for a structure-only check.

    ``read_data_rotate: T`` reads n/T with n rotating, so T consecutive runs read every pack once.
    """
    if policy.read_data_rotate > 0:
        total = policy.read_data_rotate
        return f"{(run_number - 1) % total + 1}/{total}"
    return policy.read_data_subset

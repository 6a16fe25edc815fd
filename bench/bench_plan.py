"""Plan benchmark: a one-year ``maintctl plan`` with conflict detection on a synthetic estate.

    python bench/bench_plan.py [--items 10000] [--windows 200] [--rounds 5] [--json]

The estate comes from bench/catalogue_gen.py (10,000 items over 200 windows by default).

In process (same interpreter, rounds alternate, medians compared):
  Ours:  ``build_plan`` for one year: every window's occurrences (DST rule), hosts, freezes, too-short,
         never-fires and overlaps between items on shared hosts.
  Peer:  only the occurrences of the same windows, one year, computed the library way: croniter
         (``get_next`` from a zone-aware start) or dateutil's rrule from a zone-aware DTSTART. No
         conflicts at all, so the ratio is what conflict detection and the DST rule cost on top.
Fresh processes (interpreter start included):
  ``maintctl --help`` (target < 0.3 s) next to a bare ``python -c pass``;
  ``maintctl validate ESTATE`` (bench/bench_validate.py compares it with its own peer);
  ``maintctl plan --summary`` for one year (load + plan + conflict counts, target < 1 s).

On a shared machine wall time includes waiting for a core; CPU time is what the work costs, so both
are reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

YEAR = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def peer_occurrences(windows: Any, start: datetime, end: datetime) -> int:
    """The library way: croniter / dateutil in each window's zone, no DST rule, no conflicts."""
    from zoneinfo import ZoneInfo

    from croniter import croniter
    from dateutil.rrule import rrulestr

    total = 0
    for w in windows.values():
        tz = ZoneInfo(w.timezone)
        offset = timedelta(days=w.offset_days)
        lo, hi = (start - offset).astimezone(tz), (end - offset).astimezone(tz)
        if w.cron:
            it = croniter(w.cron, lo)
            while it.get_next(datetime) < hi:
                total += 1
        else:
            anchor = datetime(2000, 1, 3, tzinfo=tz)
            total += len(rrulestr(w.rrule, dtstart=anchor).between(lo, hi, inc=True))
    return total


def in_process(estate: Path, rounds: int) -> dict[str, Any]:
    from runner.catalogue.loader import load_catalogue
    from runner.plan import build_plan

    catalogue = load_catalogue(estate)
    gc.disable()  # as `maintctl plan` does
    runs: dict[str, list[tuple[float, float]]] = {"ours": [], "peer": []}
    facts: dict[str, Any] = {}
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        total = peer_occurrences(catalogue.windows, *YEAR)
        runs["peer"].append((time.perf_counter() - wall, time.process_time() - cpu))
        wall, cpu = time.perf_counter(), time.process_time()
        plan = build_plan(catalogue, *YEAR)
        runs["ours"].append((time.perf_counter() - wall, time.process_time() - cpu))
        facts = {
            "window_occurrences_peer": total,
            "window_occurrences_ours": sum(len(o) for o in plan.windows.values()),
            "item_occurrences": sum(len(p.occurrences) for p in plan.items),
            "overlapping_item_pairs": plan.overlap_count,
        }
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    return {
        **facts,
        "median_wall_s": {k: round(v, 3) for k, v in wall.items()},
        "median_cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "ratio_ours_vs_peer_cpu": round(cpu["ours"] / cpu["peer"], 3),
        "ratio_ours_vs_peer_wall": round(wall["ours"] / wall["peer"], 3),
    }


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def processes(estate: Path, state: Path, rounds: int) -> dict[str, Any]:
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(state)}
    main = [sys.executable, "-m", "runner.cli.main"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "maintctl --help": [*main, "--help"],
        "maintctl validate": [*main, "validate", str(estate)],
        "maintctl plan --summary (1 year)": [
            *main, "--estate", str(estate), "plan", "--summary", "--from", "2027-01-01", "--to", "2027-12-31",
        ],
    }  # fmt: skip
    _time(commands["maintctl validate"], env)  # warm the checked-file cache and the OS page cache once
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            runs[name].append(_time(cmd, env))
    return {
        name: {
            "median_wall_s": round(statistics.median(w for w, _ in v), 3),
            "median_cpu_s": round(statistics.median(c for _, c in v), 3),
        }
        for name, v in runs.items()
    }


def main() -> None:
    from bench.catalogue_gen import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maintctl-bench-plan-") as tmp:
        estate = Path(tmp) / "estate"
        generate(estate, items=args.items, windows=args.windows)
        result = {
            "items": args.items,
            "windows": args.windows,
            "rounds": args.rounds,
            "plan_in_process": in_process(estate, args.rounds),
            "processes": processes(estate, Path(tmp) / "state", args.rounds),
            "load_average_1m": os.getloadavg()[0],
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

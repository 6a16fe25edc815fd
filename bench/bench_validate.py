"""Validate benchmark: ``maintctl validate`` on a synthetic estate vs the plain-library way, same run.

    python bench/bench_validate.py [--items 10000] [--windows 200] [--rounds 5]

The estate comes from bench/catalogue_gen.py (10,000 items over 200 windows by default).

Peer:  a process that loads every file with PyYAML's C loader (yaml.CSafeLoader) and validates it
       with python-jsonschema (Draft202012Validator, format checking) against the same schemas:
       what a straightforward implementation would do, and it still checks less (no duplicate keys,
       no locations, no cron/RRULE/time zone rules, no cross-references, no model).
Ours:  the ``maintctl validate ESTATE`` command, cold (``MAINTCTL_NO_CACHE=1``: every file parsed
       and checked) and warm (files unchanged since the last run come from the checked-file cache).

Each is a fresh process (interpreter start included). Rounds alternate; medians are compared.
Target (issue 2): validate under 1 s; reported as ratios against the peer measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PEER = """
import glob, json, sys, yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
docs = [json.load(open(p)) for p in glob.glob(sys.argv[2] + "/*.json")]
reg = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
byid = {d["$id"]: d for d in docs}
base = "https://maintctl.dev/schemas/"
checkers = {r: Draft202012Validator(byid[base + r + ".json"], registry=reg, format_checker=FormatChecker())
            for r in ("maintenance", "patching", "backup")}
errors = 0
for role in ("maintenance", "patching", "backup"):
    for path in sorted(glob.glob(sys.argv[1] + "/" + role + "/*.yml")):
        with open(path, "rb") as fh:
            data = yaml.load(fh, Loader=yaml.CSafeLoader)
        errors += sum(1 for _ in checkers[role].iter_errors(data))
print(errors)
"""


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system) of one fresh process, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.stdout.strip()


def main() -> None:
    from bench.catalogue_gen import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maintctl-bench-") as tmp:
        estate = Path(tmp) / "estate"
        generate(estate, items=args.items, windows=args.windows)
        env = {**os.environ, "MAINTCTL_STATE_DIR": str(Path(tmp) / "state")}
        cold_env = {**env, "MAINTCTL_NO_CACHE": "1"}
        ours = [sys.executable, "-m", "runner.cli.main", "validate", str(estate)]
        peer = [sys.executable, "-c", PEER, str(estate), str(REPO / "runner" / "catalogue" / "schemas")]
        _time(ours, env)  # prime the cache (and the OS page cache) once
        wall: dict[str, list[float]] = {"peer": [], "cold": [], "warm": []}
        cpu: dict[str, list[float]] = {"peer": [], "cold": [], "warm": []}
        out = ""
        for _ in range(args.rounds):
            for name, cmd, cmd_env in (("peer", peer, env), ("cold", ours, cold_env), ("warm", ours, env)):
                elapsed, used, text = _time(cmd, cmd_env)
                wall[name].append(elapsed)
                cpu[name].append(used)
                out = text if name != "peer" else out
        med_wall = {k: statistics.median(v) for k, v in wall.items()}
        med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
        # On a shared machine wall time includes waiting for a core; CPU time is what the work costs.
        print(json.dumps({
            "items": args.items, "windows": args.windows, "rounds": args.rounds, "ours_output": out,
            "median_wall_s": {k: round(v, 3) for k, v in med_wall.items()},
            "median_cpu_s": {k: round(v, 3) for k, v in med_cpu.items()},
            "ratio_cold_vs_peer_wall": round(med_wall["cold"] / med_wall["peer"], 3),
            "ratio_warm_vs_peer_wall": round(med_wall["warm"] / med_wall["peer"], 3),
            "ratio_cold_vs_peer_cpu": round(med_cpu["cold"] / med_cpu["peer"], 3),
            "ratio_warm_vs_peer_cpu": round(med_cpu["warm"] / med_cpu["peer"], 3),
            "load_average_1m": os.getloadavg()[0],
        }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()

"""Drift benchmark: ``maintctl drift``'s check of a playbook vs plain ``ansible-playbook --check --diff``.

Both sides run the same playbook (playbooks/drift-app.yml) on the same inventory with the same forks
and the same pinned Ansible settings (the engine adapter's environment: strategy, pipelining, host key
checking, interpreter, ControlMaster/ControlPersist). Ours is the real command a CI job runs,
``maintctl drift ITEM --format json`` in a temporary estate: process start, catalogue load,
ansible-runner's event stream, the skip-reason callback, classification, waivers and the report.

Fair start: every run, ours and the peer's, starts without SSH connections. maintctl keeps its SSH
control sockets in a private folder of its own process, so each ``maintctl drift`` opens fresh
connections (as every CI job does); the peer gets a fresh ``ANSIBLE_SSH_CONTROL_PATH_DIR`` per run for
the same start. ``--warm-peer`` instead lets the peer reuse the connections its previous run left open
(ControlPersist 60 s), to show what that is worth.

One untimed run of each side first (page cache), then rounds; the order alternates (peer first, then
ours first, ...) so neither side always follows the other; medians compared. maintctl's own modules
are byte-compiled first, as installing a package does (ansible-core's were when pip installed it):
with PYTHONDONTWRITEBYTECODE set, as in this machine's shells, no run ever writes a .pyc, and every
timed run would compile the modules changed since their .pyc was last written (~10 ms for the drift
path). ``--no-compile`` skips that.

* ``--lab``: the lab's hosts over SSH (tests/lab/run/inventory.yml; the lab must be up), 5 rounds
  (~1 min on an idle machine). Alone it runs only the lab case.
* ``--hosts N``: N local-connection hosts, each with its own app.conf, 10% drifted (default 200 when
  ``--lab`` is not given), ``--local-rounds`` rounds (default 3; ~1 min per run on an idle machine).

``--timeline`` also splits each run into before / inside / after ansible-playbook (bench/timeline.py).

Target: ratio (ours / peer) <= 1.05. Prints a report; ``--json`` for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from timeline import Timeline, span  # noqa: E402

from runner.adapters.ansible import ansible_env  # noqa: E402
from runner.kinds.drift.ansible_check import spec_for  # noqa: E402

# Set by --timeline: splits every timed run into before / inside / after ansible-playbook.
TIMELINE: Timeline | None = None

PLAYBOOK = REPO / "playbooks" / "drift-app.yml"


def local_inventory(tmp: Path, n: int) -> tuple[Path, list[str]]:
    lines, hosts = ["[all]"], []
    for i in range(n):
        host = f"h{i:03d}"
        conf = tmp / "hosts" / host / "app.conf"
        conf.parent.mkdir(parents=True)
        workers = 8 if i % 10 == 0 else 4  # every tenth host drifted
        conf.write_text(
            f"# managed by maintctl playbooks\n[app]\nname = {host}\nlisten = {host}:8000\n"
            f"log_level = info\nworkers = {workers}\n"
        )
        lines.append(f"{host} ansible_connection=local app_config_path={conf}")
        hosts.append(host)
    lines += ["[all:vars]", "ansible_python_interpreter=/usr/bin/python3"]
    inv = tmp / "inventory.ini"
    inv.write_text("\n".join(lines) + "\n")
    return inv, hosts


def compile_package() -> None:
    """Write the .pyc files of maintctl's modules (quietly; unchanged ones are left as they are)."""
    import compileall

    compileall.compile_dir(str(REPO / "runner"), quiet=1)


def peer(inv: Path, hosts: list[str], forks: int, work: Path, warm: bool = False) -> float:
    spec = spec_for(PLAYBOOK, inv, forks=forks, hosts=hosts)
    env = {**os.environ, **ansible_env(spec, work)}
    if not warm:  # as maintctl starts: no SSH connection to reuse
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = tempfile.mkdtemp(prefix="bd-cp-", dir="/tmp")
    cmd = [
        "ansible-playbook",
        "-i",
        str(inv),
        str(PLAYBOOK),
        "--check",
        "--diff",
        "-f",
        str(forks),
        "--limit",
        ",".join(hosts),
    ]
    with span(TIMELINE, "peer", env) as run_env:
        start = time.perf_counter()
        subprocess.run(cmd, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        elapsed = time.perf_counter() - start
    if not warm:
        shutil.rmtree(env["ANSIBLE_SSH_CONTROL_PATH_DIR"], ignore_errors=True)
    return elapsed


def estate(tmp: Path, inv: Path, forks: int) -> Path:
    """A throwaway estate around ``inv``: the drift playbook and one drift item over all its hosts."""
    root = tmp / "estate"
    (root / "maintenance").mkdir(parents=True)
    (root / "inventory").mkdir()
    shutil.copy(inv, root / "inventory" / inv.name)
    shutil.copytree(REPO / "playbooks" / "templates", root / "playbooks" / "templates")
    shutil.copy(PLAYBOOK, root / "playbooks" / PLAYBOOK.name)
    doc = {
        "settings": {"ansible": {"forks": forks}},
        "windows": {"hourly": {"cron": "0 * * * *", "timezone": "UTC", "duration": "1h"}},
        "items": [
            {
                "id": "bench-drift",
                "kind": "drift",
                "targets": {"groups": ["all"]},
                "window": "hourly",
                "expected_duration": "30m",
                "drift": {"playbooks": [PLAYBOOK.name]},
            }
        ],
    }
    (root / "maintenance" / "bench.yml").write_text(json.dumps(doc))
    return root


def ours(root: Path) -> tuple[float, dict[str, int]]:
    cmd = [str(Path(sys.executable).parent / "maintctl"), "--estate", str(root), "drift", "--format", "json"]
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(root / ".maintctl")}
    with span(TIMELINE, "ours", env) as run_env:
        start = time.perf_counter()
        done = subprocess.run(cmd, env=run_env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    if done.returncode == 1:
        raise SystemExit(f"maintctl drift failed: {done.stderr[-2000:]}")
    return elapsed, dict(json.loads(done.stdout)["summary"])


def bench(
    label: str, inv: Path, hosts: list[str], forks: int, rounds: int, warmup: bool = True, warm_peer: bool = False
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    (work / "tmp").mkdir()
    root = estate(work, inv, forks)
    peer_times: list[float] = []
    our_times: list[float] = []
    tally: dict[str, int] = {}
    load = [round(os.getloadavg()[0], 2)]
    if warmup:  # untimed: page cache and .pyc files for both sides
        peer(inv, hosts, forks, work, warm_peer)
        ours(root)
    if TIMELINE is not None:
        TIMELINE.splits.clear()
    for r in range(rounds):
        if r % 2 == 0:
            peer_times.append(peer(inv, hosts, forks, work, warm_peer))
            t, tally = ours(root)
        else:
            t, tally = ours(root)
            peer_times.append(peer(inv, hosts, forks, work, warm_peer))
        our_times.append(t)
        print(f"  {label} round {r + 1}: peer {peer_times[-1]:.2f} s, maintctl {t:.2f} s", file=sys.stderr, flush=True)
    load.append(round(os.getloadavg()[0], 2))
    shutil.rmtree(work, ignore_errors=True)
    p, o = statistics.median(peer_times), statistics.median(our_times)
    return {
        "case": label,
        "hosts": len(hosts),
        "forks": forks,
        "rounds": rounds,
        "peer_ssh": "warm (reuses its previous run's connections)" if warm_peer else "cold, as maintctl",
        "load_avg": load,
        "peer_median_s": round(p, 3),
        "ours_median_s": round(o, 3),
        "ratio": round(o / p, 3),
        # Round by round (both sides ran back to back): less sensitive to the machine's drift over a run.
        "paired_ratio_median": round(statistics.median(b / a for a, b in zip(peer_times, our_times, strict=True)), 3),
        "paired_diff_median_s": round(statistics.median(b - a for a, b in zip(peer_times, our_times, strict=True)), 3),
        "peer_s": [round(x, 3) for x in peer_times],
        "ours_s": [round(x, 3) for x in our_times],
        "findings": {k: v for k, v in tally.items() if v},
        "target": 1.05,
        **({"timeline": TIMELINE.report()} if TIMELINE is not None else {}),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=None, help="local-connection hosts (default 200; 0 with --lab)")
    ap.add_argument("--forks", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5, help="rounds of the lab case (default 5)")
    ap.add_argument("--local-rounds", type=int, default=3, help="rounds of the local case (default 3)")
    ap.add_argument("--lab", action="store_true", help="run against the lab hosts (lab must be up)")
    ap.add_argument("--warm-peer", action="store_true", help="let the peer reuse its previous run's SSH connections")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed first run of each side")
    ap.add_argument("--no-compile", action="store_true", help="do not byte-compile maintctl's modules first")
    ap.add_argument("--timeline", action="store_true",
                    help="also split each run into before / inside / after ansible-playbook (bench/timeline.py)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    global TIMELINE
    TIMELINE = Timeline() if args.timeline else None
    n_local = args.hosts if args.hosts is not None else (0 if args.lab else 200)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    if not args.no_compile:
        compile_package()
    results = []
    if n_local > 0:
        with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
            inv, hosts = local_inventory(Path(tmp), n_local)
            results.append(bench(f"{n_local} local-connection hosts", inv, hosts, args.forks, args.local_rounds,
                                 not args.no_warmup))
    if args.lab:
        lab_inv = REPO / "tests" / "lab" / "run" / "inventory.yml"
        lab = json.loads((REPO / "tests" / "lab" / "run" / "lab.json").read_text())
        results.append(bench("lab hosts over SSH", lab_inv, sorted(lab["hosts"]), args.forks, args.rounds,
                             not args.no_warmup, args.warm_peer))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            verdict = "ok" if r["ratio"] <= r["target"] else "OVER TARGET"
            print(
                f"drift check, {r['case']}, forks {r['forks']}, peer SSH {r['peer_ssh']}, load {r['load_avg']}: "
                f"maintctl {r['ours_median_s']}s vs ansible-playbook --check --diff {r['peer_median_s']}s -> "
                f"ratio {r['ratio']} (target <= {r['target']}: {verdict}); findings {r['findings']}"
                + (f"; timeline {r['timeline']}" if "timeline" in r else "")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

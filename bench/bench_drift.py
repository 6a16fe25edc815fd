"""Drift benchmark: ``maintctl drift``'s check of a playbook vs plain ``ansible-playbook --check --diff``.

Both sides run the same playbook (playbooks/drift-app.yml) on the same inventory with the same forks
and the same pinned Ansible settings (the engine adapter's environment: strategy, pipelining, host key
checking, interpreter). Ours is the real command a CI job runs, ``maintctl drift ITEM --format json``
in a temporary estate: process start, catalogue load, ansible-runner's event stream, the skip-reason
callback, classification, waivers and the report. Runs alternate (peer, ours, ...); medians compared.

* ``--hosts N`` local-connection hosts (default 200), each with its own app.conf; 10% drifted.
* ``--lab`` the lab's hosts over SSH (tests/lab/run/inventory.yml), when the lab is up.

Target: ratio (ours / peer) <= 1.05. Prints a report; ``--json`` for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner.adapters.ansible import ansible_env  # noqa: E402
from runner.kinds.drift.ansible_check import spec_for  # noqa: E402

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


def peer(inv: Path, hosts: list[str], forks: int, work: Path) -> float:
    spec = spec_for(PLAYBOOK, inv, forks=forks, hosts=hosts)
    env = {**os.environ, **ansible_env(spec, work)}
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
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def estate(tmp: Path, inv: Path, forks: int) -> Path:
    """A throwaway estate around ``inv``: the drift playbook and one drift item over all its hosts."""
    import shutil

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
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode == 1:
        raise SystemExit(f"maintctl drift failed: {done.stderr[-2000:]}")
    return elapsed, dict(json.loads(done.stdout)["summary"])


def bench(label: str, inv: Path, hosts: list[str], forks: int, rounds: int, warmup: bool = True) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    (work / "tmp").mkdir()
    (work / "cp").mkdir()
    root = estate(work, inv, forks)
    peer_times: list[float] = []
    our_times: list[float] = []
    tally: dict[str, int] = {}
    if warmup:
        peer(inv, hosts, forks, work)  # warm caches (module files, page cache) for both sides
    for _ in range(rounds):
        peer_times.append(peer(inv, hosts, forks, work))
        t, tally = ours(root)
        our_times.append(t)
    p, o = statistics.median(peer_times), statistics.median(our_times)
    return {
        "case": label,
        "hosts": len(hosts),
        "forks": forks,
        "rounds": rounds,
        "load_avg": round(os.getloadavg()[0], 1),
        "peer_median_s": round(p, 3),
        "ours_median_s": round(o, 3),
        "ratio": round(o / p, 3),
        "peer_s": [round(x, 3) for x in peer_times],
        "ours_s": [round(x, 3) for x in our_times],
        "findings": {k: v for k, v in tally.items() if v},
        "target": 1.05,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--forks", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lab", action="store_true", help="also run against the lab hosts (lab must be up)")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed first peer run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        inv, hosts = local_inventory(Path(tmp), args.hosts)
        results.append(
            bench(f"{args.hosts} local-connection hosts", inv, hosts, args.forks, args.rounds, not args.no_warmup)
        )
    lab_inv = REPO / "tests" / "lab" / "run" / "inventory.yml"
    if args.lab:
        lab = json.loads((REPO / "tests" / "lab" / "run" / "lab.json").read_text())
        results.append(
            bench("lab hosts over SSH", lab_inv, sorted(lab["hosts"]), args.forks, args.rounds, not args.no_warmup)
        )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            verdict = "ok" if r["ratio"] <= r["target"] else "OVER TARGET"
            print(
                f"drift check, {r['case']}, forks {r['forks']}: maintctl {r['ours_median_s']}s vs "
                f"ansible-playbook --check --diff {r['peer_median_s']}s -> ratio {r['ratio']} "
                f"(target <= {r['target']}: {verdict}); findings {r['findings']}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

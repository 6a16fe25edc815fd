"""Drift benchmark: ``maintctl drift``'s check of a playbook vs plain ``ansible-playbook --check --diff``.

Both sides run the same playbook (playbooks/drift-app.yml) on the same inventory with the same forks
and the same pinned Ansible settings (the engine adapter's environment: strategy, pipelining, host key
checking, interpreter). Ours adds ansible-runner's event stream, the skip-reason callback, and
classification into findings. Runs alternate (peer, ours, peer, ...) and medians are compared.

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
from runner.kinds.drift.check import CheckOptions, check_playbooks  # noqa: E402
from runner.kinds.drift.settings import parse  # noqa: E402

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
    cmd = ["ansible-playbook", "-i", str(inv), str(PLAYBOOK), "--check", "--diff", "-f", str(forks),
           "--limit", ",".join(hosts)]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def ours(inv: Path, hosts: list[str], forks: int, item: Any) -> tuple[float, dict[str, int]]:
    settings = parse(item.id, {"playbooks": [str(PLAYBOOK)]})
    opts = CheckOptions(estate_root=REPO, inventory=[inv], forks=forks)
    start = time.perf_counter()
    findings, errors = check_playbooks(item, settings, hosts, opts)
    elapsed = time.perf_counter() - start
    tally: dict[str, int] = {}
    for f in findings:
        tally[f.status] = tally.get(f.status, 0) + 1
    if errors:
        tally["run_errors"] = len(errors)
    return elapsed, tally


def bench(label: str, inv: Path, hosts: list[str], forks: int, rounds: int) -> dict[str, Any]:
    from datetime import timedelta

    from runner.catalogue.model import Item, Targets

    item = Item(id="bench-drift", kind="drift", targets=Targets(), window="w", expected_duration=timedelta(1))
    work = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    (work / "tmp").mkdir()
    (work / "cp").mkdir()
    peer_times, our_times, tally = [], [], {}
    peer(inv, hosts, forks, work)  # warm caches (module files, page cache) for both sides
    for _ in range(rounds):
        peer_times.append(peer(inv, hosts, forks, work))
        t, tally = ours(inv, hosts, forks, item)
        our_times.append(t)
    p, o = statistics.median(peer_times), statistics.median(our_times)
    return {
        "case": label, "hosts": len(hosts), "forks": forks, "rounds": rounds,
        "peer_median_s": round(p, 3), "ours_median_s": round(o, 3), "ratio": round(o / p, 3),
        "peer_s": [round(x, 3) for x in peer_times], "ours_s": [round(x, 3) for x in our_times],
        "findings": tally, "target": 1.05,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--forks", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lab", action="store_true", help="also run against the lab hosts (lab must be up)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        inv, hosts = local_inventory(Path(tmp), args.hosts)
        results.append(bench(f"{args.hosts} local-connection hosts", inv, hosts, args.forks, args.rounds))
    lab_inv = REPO / "tests" / "lab" / "run" / "inventory.yml"
    if args.lab:
        lab = json.loads((REPO / "tests" / "lab" / "run" / "lab.json").read_text())
        results.append(bench("lab hosts over SSH", lab_inv, sorted(lab["hosts"]), args.forks, args.rounds))
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

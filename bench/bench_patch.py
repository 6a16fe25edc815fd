"""Patch benchmark: patching the lab fleet with `maintctl run` vs the same playbooks by plain ansible-playbook.

Each round publishes a new `lab-tool` version in the lab repository, then patches web1, web2 and db1
to it. Peer: `ansible-playbook` running playbooks/patch-scan.yml on every host, then
playbooks/patch-apply.yml batch by batch (maintctl's batch size) with the same forks, with the per-host
commands computed the same way (the peer's Python work is the approval of one package per host).
Ours: `maintctl run ITEM --force` as a user runs it (catalogue, lease, state, change record,
evidence, scan + decide, then apply per batch). Rounds alternate (peer, ours); medians are compared. Target:
ours / peer <= 1.05.

Needs the lab (`make lab-up`). Usage: bench/bench_patch.py [--rounds 3] [--batch 1]
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner.kinds.patch.hostcmds import apply_commands, scan_commands  # noqa: E402

MAINTCTL = str(Path(sys.executable).parent / "maintctl")
HOSTS = ["web1", "web2", "db1"]
LAB = REPO / "tests" / "lab"


def lab_info() -> dict[str, object]:
    return dict(json.loads((LAB / "run" / "lab.json").read_text()))


def version() -> str:
    """A version newer than any before it, in the same form the lab tests use (1.<unix time>)."""
    time.sleep(1.1)
    return f"1.{int(time.time())}"


def publish(version: str) -> None:
    subprocess.run(["bash", str(LAB / "publish.sh"), "lab-tool", version], check=True, capture_output=True)


def make_estate(root: Path, inventory: Path, known_hosts: str, batch: int, forks: int) -> None:
    for d in ("maintenance", "patching", "inventory"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "playbooks").symlink_to(REPO / "playbooks")
    (root / "inventory" / "hosts.yml").write_text(inventory.read_text())
    (root / "patching" / "b.yml").write_text(json.dumps({"baselines": {"bench": {
        "package_manager": "apt", "approve": "none", "include": ["lab-tool"]}}}))
    (root / "maintenance" / "m.yml").write_text(json.dumps({
        "settings": {"ansible": {"known_hosts": known_hosts, "forks": forks}},
        "windows": {"w": {"cron": "0 2 * * 2", "timezone": "UTC", "duration": "3h"}},
        "items": [{"id": "bench", "kind": "patch", "window": "w", "expected_duration": "30m",
                   "targets": {"hosts": HOSTS}, "rollout": {"batch_size": batch},
                   "change": {"type": "standard"}, "patch": {"baseline": "bench", "reboot": "never"}}],
    }))


def peer(inventory: Path, known_hosts: str, version: str, batch: int, forks: int, work: Path) -> float:
    scan = {h: scan_commands("apt") for h in HOSTS}
    apply = {h: apply_commands("apt", install=[("lab-tool", version)], hold=(), query=["lab-tool"]) for h in HOSTS}
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_FORKS": str(forks), "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
           "ANSIBLE_SSH_ARGS": f"-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={known_hosts}"}
    def play(playbook: str, limit: str, extra: dict[str, object]) -> None:
        done = subprocess.run(["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / playbook),
                               "-f", str(forks), "--limit", limit, "-e", json.dumps(extra)],
                              env=env, capture_output=True, text=True, cwd=work)
        if done.returncode != 0:
            raise SystemExit(f"peer failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")

    t = time.perf_counter()
    # As maintctl does: one scan of every host, then the install batch by batch.
    play("patch-scan.yml", ",".join(HOSTS), {"maintctl_hosts": scan})
    for start in range(0, len(HOSTS), batch):
        play("patch-apply.yml", ",".join(HOSTS[start:start + batch]),
             {"maintctl_hosts": apply, "maintctl_reboot": "never"})
    return time.perf_counter() - t


def ours(root: Path, state: Path, known_hosts: str) -> float:
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(state), "MAINTCTL_KNOWN_HOSTS": known_hosts}
    t = time.perf_counter()
    done = subprocess.run([MAINTCTL, "--estate", str(root), "run", "bench", "--force", "--reason", "bench"],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"maintctl failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--forks", type=int, default=10)
    args = ap.parse_args()
    info = lab_info()
    inventory = Path(str(info["inventory"]))
    known_hosts = str(dict(info["ssh"])["known_hosts"])  # type: ignore[call-overload]
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    times: dict[str, list[float]] = {"peer": [], "ours": []}
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "estate", Path(tmp) / "work"
        work.mkdir()
        make_estate(root, inventory, known_hosts, args.batch, args.forks)
        for r in range(args.rounds):
            v = version()
            publish(v)
            times["peer"].append(peer(inventory, known_hosts, v, args.batch, args.forks, work))
            publish(version())
            times["ours"].append(ours(root, Path(tmp) / "state", known_hosts))
            print(f"round {r + 1}: peer {times['peer'][-1]:.2f} s, maintctl {times['ours'][-1]:.2f} s", flush=True)
    p, o = statistics.median(times["peer"]), statistics.median(times["ours"])
    load = os.getloadavg()[0]
    print(json.dumps({"bench": "patch", "hosts": HOSTS, "batch": args.batch, "forks": args.forks,
                      "peer_median_s": round(p, 2), "maintctl_median_s": round(o, 2), "ratio": round(o / p, 3),
                      "target": 1.05, "load_avg": round(load, 1),
                      "rounds": {k: [round(x, 2) for x in v] for k, v in times.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

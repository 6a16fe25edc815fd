"""Patch benchmark: patching the lab fleet with `maintctl run` vs the same playbooks by plain ansible-playbook.

Each round publishes a new `lab-tool` version in the lab repository before each side, then patches
web1, web2 and db1 to it. Ours: `maintctl run ITEM --force` as a user runs it (catalogue, lease, state,
change record, evidence, scan + decide, then the install batch by batch: one Ansible session whose
play waits at maintctl's gate before each batch).

Peer (the ratio's denominator, as issue #6 words it): ONE `ansible-playbook` process running
playbooks/patch-scan.yml and then patch-apply.yml's play with `serial: BATCH`, as a plain-Ansible user
would write it: a copy of the play without maintctl's gate tasks, reading the per-host commands from
`maintctl_hosts` (computed the same way; the peer's Python work is the approval of one package per
host). Same forks and the same Ansible settings as maintctl's adapter (`ansible_env`: strategy,
pipelining, interpreter, host key checking with the lab's known_hosts, ControlMaster/ControlPersist).
Like maintctl, the peer starts each round without SSH connections (a fresh control-path folder).

Reference (`--per-playbook`, reported only): the scan and then each batch as its own ansible-playbook
process, as maintctl ran a rollout before sessions.

One untimed run of each side first (page cache; maintctl's state folder and keys made), then rounds that
alternate which side goes first; medians are compared, and the median of the per-round ratios is
reported beside them. Target: ours / peer <= 1.05.

Needs the lab (`make lab-up`). Usage: bench/bench_patch.py [--rounds 3] [--batch 1] [--per-playbook] [--timeline]
(``--timeline``: each run split into before / inside / after ansible-playbook, see bench/timeline.py).
"""

from __future__ import annotations

import argparse
import compileall
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

from timeline import Timeline, span  # noqa: E402

from runner.adapters.ansible import PlaybookSpec, ansible_env  # noqa: E402
from runner.kinds.patch.hostcmds import apply_commands, scan_commands  # noqa: E402

# Set by --timeline: splits every timed run into before / inside / after ansible-playbook.
TIMELINE: Timeline | None = None

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


def peer_env(inventory: Path, known_hosts: str, forks: int, work: Path, cp_dir: str) -> dict[str, str]:
    """maintctl's adapter environment for these playbooks, with the round's own control-path folder."""
    spec = PlaybookSpec(playbook=REPO / "playbooks" / "patch-apply.yml", inventory=inventory, hosts=HOSTS,
                        forks=forks, known_hosts=Path(known_hosts))
    return {**os.environ, **ansible_env(spec, work), "ANSIBLE_SSH_CONTROL_PATH_DIR": cp_dir}


def play(env: dict[str, str], inventory: Path, playbooks: list[Path], limit: str, extra: dict[str, object],
         forks: int, work: Path) -> None:
    done = subprocess.run(["ansible-playbook", "-i", str(inventory), *map(str, playbooks), "-f", str(forks),
                           "--limit", limit, "-e", json.dumps(extra)],
                          env=env, capture_output=True, text=True, cwd=work)
    if done.returncode != 0:
        raise SystemExit(f"peer failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")


def commands(version: str) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    scan = {h: scan_commands("apt") for h in HOSTS}
    apply = {h: apply_commands("apt", install=[("lab-tool", version)], hold=(), query=["lab-tool"]) for h in HOSTS}
    return scan, apply


def per_playbook(inventory: Path, known_hosts: str, version: str, batch: int, forks: int, work: Path) -> float:
    scan, apply = commands(version)
    with tempfile.TemporaryDirectory(prefix="bp-cp-", dir="/tmp") as cp:
        env = peer_env(inventory, known_hosts, forks, work, cp)
        t = time.perf_counter()
        # As maintctl does: one scan of every host, then the install batch by batch.
        play(env, inventory, [REPO / "playbooks" / "patch-scan.yml"], ",".join(HOSTS), {"maintctl_hosts": scan},
             forks, work)
        for start in range(0, len(HOSTS), batch):
            play(env, inventory, [REPO / "playbooks" / "patch-apply.yml"], ",".join(HOSTS[start:start + batch]),
                 {"maintctl_hosts": apply, "maintctl_reboot": "never"}, forks, work)
        return time.perf_counter() - t


def serial_playbook(work: Path, batch: int) -> Path:
    """patch-apply.yml's play as plain Ansible: ``serial: batch``, no maintctl gate, commands from
    ``maintctl_hosts`` (a copy; the project's playbook is not changed)."""
    import yaml

    plays = yaml.safe_load((REPO / "playbooks" / "patch-apply.yml").read_text())
    for p in plays:
        p["hosts"], p["serial"] = "all", batch
        p["vars"]["maintctl_cmds"] = "{{ maintctl_hosts[inventory_hostname] }}"
        p["tasks"] = [t for t in p["tasks"] if not str(t.get("name", "")).startswith("maintctl ")]
    path = work / "patch-apply-serial.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return path


def peer_serial(inventory: Path, known_hosts: str, version: str, batch: int, forks: int, work: Path) -> float:
    scan, apply = commands(version)
    both = {h: {**scan[h], **apply[h]} for h in HOSTS}  # reboot_check is the same command in both
    playbooks = [REPO / "playbooks" / "patch-scan.yml", serial_playbook(work, batch)]
    with tempfile.TemporaryDirectory(prefix="bp-cp-", dir="/tmp") as cp:
        with span(TIMELINE, "peer", peer_env(inventory, known_hosts, forks, work, cp)) as env:
            t = time.perf_counter()
            play(env, inventory, playbooks, ",".join(HOSTS), {"maintctl_hosts": both, "maintctl_reboot": "never"},
                 forks, work)
            return time.perf_counter() - t


def ours(root: Path, state: Path, known_hosts: str) -> float:
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(state), "MAINTCTL_KNOWN_HOSTS": known_hosts}
    with span(TIMELINE, "ours", env) as run_env:
        t = time.perf_counter()
        done = subprocess.run([MAINTCTL, "--estate", str(root), "run", "bench", "--force", "--reason", "bench"],
                              env=run_env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"maintctl failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--per-playbook", action="store_true", help="also time one process per playbook (reference)")
    ap.add_argument("--no-warmup", action="store_true", help="time from the first run (no untimed run of each side)")
    ap.add_argument("--timeline", action="store_true",
                    help="also split each run into before / inside / after ansible-playbook (bench/timeline.py)")
    args = ap.parse_args()
    global TIMELINE
    TIMELINE = Timeline() if args.timeline else None
    info = lab_info()
    inventory = Path(str(info["inventory"]))
    known_hosts = str(dict(info["ssh"])["known_hosts"])  # type: ignore[call-overload]
    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    # As installing a package does (ansible-core's .pyc came with pip): with PYTHONDONTWRITEBYTECODE set,
    # every timed run would otherwise compile maintctl's modules changed since their last .pyc.
    compileall.compile_dir(str(REPO / "runner"), quiet=1)
    times: dict[str, list[float]] = {"peer": [], "ours": []}
    if args.per_playbook:
        times["per_playbook"] = []
    load = [round(os.getloadavg()[0], 2)]
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "estate", Path(tmp) / "work"
        work.mkdir()
        make_estate(root, inventory, known_hosts, args.batch, args.forks)
        sides = {
            "peer": lambda v: peer_serial(inventory, known_hosts, v, args.batch, args.forks, work),
            "per_playbook": lambda v: per_playbook(inventory, known_hosts, v, args.batch, args.forks, work),
            "ours": lambda v: ours(root, Path(tmp) / "state", known_hosts),
        }
        order = [k for k in ("peer", "ours", "per_playbook") if k in times]

        def fresh_run(side: str) -> float:
            """Publish a new lab-tool, then patch to it with ``side``."""
            v = version()
            publish(v)
            return sides[side](v)

        if not args.no_warmup:  # untimed, as in bench_drift: page cache, maintctl's state and keys made
            for side in order:
                fresh_run(side)
        if TIMELINE is not None:
            TIMELINE.splits.clear()
        for r in range(args.rounds):
            for side in order if r % 2 == 0 else order[::-1]:
                times[side].append(fresh_run(side))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    load.append(round(os.getloadavg()[0], 2))
    med = {k: statistics.median(v) for k, v in times.items()}
    out: dict[str, object] = {
        "bench": "patch", "hosts": HOSTS, "batch": args.batch, "forks": args.forks,
        "peer": "one ansible-playbook, scan + install play with serial",
        "peer_median_s": round(med["peer"], 2), "maintctl_median_s": round(med["ours"], 2),
        "ratio": round(med["ours"] / med["peer"], 3), "target": 1.05, "load_avg": load,
        # Round by round (both sides ran back to back): less sensitive to the machine's drift over a run.
        "paired_ratio_median": round(statistics.median(o / p for o, p in zip(times["ours"], times["peer"],
                                                                               strict=True)), 3),
        "paired_diff_median_s": round(statistics.median(o - p for o, p in zip(times["ours"], times["peer"],
                                                                                strict=True)), 3),
        "rounds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        **({"timeline": TIMELINE.report()} if TIMELINE is not None else {}),
    }
    if "per_playbook" in med:
        out["per_playbook_median_s"] = round(med["per_playbook"], 2)
        out["ratio_vs_per_playbook"] = round(med["ours"] / med["per_playbook"], 3)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

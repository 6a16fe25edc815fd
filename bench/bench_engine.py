"""Engine benchmark: a whole `maintctl run` vs plain `ansible-playbook` on the same hosts.

Peer: `ansible-playbook -i INVENTORY PLAYBOOK -f FORKS` with the same pinned settings (the adapter's
environment: strategy, pipelining, host key checking, interpreter). Ours: `maintctl run ITEM --force`
as a user runs it (process start, catalogue load, lease, state, evidence ledger, change record,
ansible-runner and event folding), in one batch of 100% (as the plain play) with the same forks.
Runs alternate (peer first, then ours first, ...) and medians are compared. Every run of both sides
starts without SSH connections (the peer gets a fresh ControlPath folder per run, as every maintctl
run has). Target: ours / peer <= 1.05.

Also measured (adapter only, same playbook): ansible-runner writing one JSON file per event
(``keep_events``) vs our default (the event handler keeps events in memory and returns False).

* ``--hosts N``: N local-connection hosts (default 200).
* ``--lab``: the lab's hosts over SSH (tests/lab/run/inventory.yml), when the lab is up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner.adapters.ansible import PlaybookSpec, ansible_env, run_playbook  # noqa: E402

MAINTCTL = str(Path(sys.executable).parent / "maintctl")
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: write
      copy: {content: "{{ inventory_hostname }} {{ stamp }}\\n", dest: "{{ out }}/{{ inventory_hostname }}"}
    - name: read back
      command: cat {{ out }}/{{ inventory_hostname }}
      changed_when: false
    - name: ping
      ping:
"""


def make_estate(root: Path, inventory_text: str | None, inventory_file: Path | None, hosts: list[str],
                forks: int, out: str) -> None:
    for d in ("maintenance", "patching", "inventory", "playbooks"):
        (root / d).mkdir(parents=True, exist_ok=True)
    inv = root / "inventory" / "hosts.yml"
    if inventory_file is not None:
        inv.write_text(inventory_file.read_text())
    else:
        inv.write_text(inventory_text or "")
    (root / "playbooks" / "bench.yml").write_text(PLAYBOOK)
    (root / "patching" / "b.yml").write_text("baselines:\n  any: {package_manager: apt, approve: all}\n")
    (root / "maintenance" / "c.yml").write_text(textwrap.dedent(f"""\
        settings:
          ansible: {{forks: {forks}}}
        windows:
          yearly: {{cron: "0 0 1 1 *", timezone: UTC, duration: 1h}}
        items:
          - id: bench
            kind: patch
            targets: {{hosts: {json.dumps(hosts)}}}
            window: yearly
            expected_duration: 1h
            rollout: {{batch_size: 100%, max_errors: 100%}}
            patch: {{baseline: any, runner: playbook, playbook: bench.yml, diff: false,
                     extravars: {{out: "{out}"}}}}
    """))


def local_inventory(n: int) -> tuple[str, list[str]]:
    hosts = [f"h{i:03d}" for i in range(n)]
    body = "".join(f"        {h}: {{ansible_connection: local}}\n" for h in hosts)
    text = ("all:\n  vars:\n    ansible_python_interpreter: /usr/bin/python3\n"
            f"  children:\n    bench:\n      hosts:\n{body}")
    return text, hosts


def peer(root: Path, hosts: list[str], forks: int, out: str, work: Path, stamp: str) -> float:
    spec = PlaybookSpec(playbook=root / "playbooks" / "bench.yml", inventory=root / "inventory" / "hosts.yml",
                        hosts=hosts, forks=forks)
    env = {**os.environ, **ansible_env(spec, work)}
    # as maintctl starts (its SSH control sockets live in a folder of its own process): no connection
    # to reuse. The adapter's folder here would be this benchmark's, kept warm by the previous run.
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = tempfile.mkdtemp(prefix="be-cp-", dir=work)
    cmd = ["ansible-playbook", "-i", str(root / "inventory" / "hosts.yml"), str(spec.playbook), "-f", str(forks),
           "--limit", ",".join(hosts), "-e", json.dumps({"out": out, "stamp": stamp})]
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"peer failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def ours(root: Path, state: Path, known_hosts: str | None, stamp: str) -> float:
    env = {**os.environ, "MAINTCTL_STATE_DIR": str(state)}
    if known_hosts:
        env["MAINTCTL_KNOWN_HOSTS"] = known_hosts
    # the stamp makes every run change every host, like the peer's
    (root / "playbooks" / "bench.yml").write_text(PLAYBOOK.replace("{{ stamp }}", stamp))
    t = time.perf_counter()
    done = subprocess.run([MAINTCTL, "--estate", str(root), "run", "bench", "--force", "--reason", "bench"],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"maintctl failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def adapter(root: Path, hosts: list[str], forks: int, out: str, work: Path, keep: bool, stamp: str) -> float:
    spec = PlaybookSpec(playbook=root / "playbooks" / "bench.yml", inventory=root / "inventory" / "hosts.yml",
                        hosts=hosts, forks=forks, extravars={"out": out, "stamp": stamp}, keep_events=keep)
    t = time.perf_counter()
    run_playbook(spec, data_dir=work)
    return time.perf_counter() - t


def measure(label: str, root: Path, hosts: list[str], forks: int, out: str, reps: int,
            known_hosts: str | None, tmp: Path, events: bool) -> dict[str, Any]:
    times: dict[str, list[float]] = {"peer": [], "ours": [], "adapter_no_event_files": [], "adapter_event_files": []}
    tmp.mkdir(parents=True, exist_ok=True)
    state = tmp / "state"
    for i in range(reps):
        stamp = f"{time.time_ns()}"
        for side in ("peer", "ours") if i % 2 == 0 else ("ours", "peer"):  # neither always follows the other
            if side == "peer":
                times[side].append(peer(root, hosts, forks, out, Path(tempfile.mkdtemp(dir=tmp)), stamp))
            else:
                times[side].append(ours(root, state, known_hosts, stamp + "o"))
        if events:
            times["adapter_no_event_files"].append(
                adapter(root, hosts, forks, out, tmp / f"a{i}", False, stamp + "a"))
            times["adapter_event_files"].append(
                adapter(root, hosts, forks, out, tmp / f"e{i}", True, stamp + "e"))
        print(f"  [{label}] rep {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items() if v),
              file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    result: dict[str, Any] = {"label": label, "hosts": len(hosts), "forks": forks, "reps": reps,
                              "median_s": {k: round(v, 3) for k, v in med.items()},
                              "ratio": round(med["ours"] / med["peer"], 3)}
    if events:
        folder = tmp / f"e{reps - 1}" / "artifacts" / "run" / "job_events"
        files = sorted(folder.glob("*.json"))
        result["event_files_per_run"] = len(files)
        result["event_file_ratio"] = round(med["adapter_event_files"] / med["adapter_no_event_files"], 3)
        cost = event_write_cost(files, tmp / "rewrite")
        result["event_file_write_s"] = round(cost, 4)
        result["event_file_write_share_of_peer"] = round(cost / med["peer"], 4)
    return result


def event_write_cost(files: list[Path], into: Path) -> float:
    """Seconds ansible-runner spends writing these events as files (its own way: temp file, chmod 0600,
    json.dump, rename) — the work our event handler skips by returning False."""
    import codecs
    import stat

    events = [json.loads(f.read_text()) for f in files]
    into.mkdir()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for i, ev in enumerate(events):
            full = into / f"{i}-{ev.get('uuid', i)}.json"
            tmpname = str(full) + ".tmp"
            with codecs.open(tmpname, "w", encoding="utf-8") as fh:
                os.chmod(tmpname, stat.S_IRUSR | stat.S_IWUSR)
                json.dump(ev, fh)
            os.rename(tmpname, full)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--forks", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lab", action="store_true", help="also run on the lab's hosts (the lab must be up)")
    ap.add_argument("--lab-only", action="store_true", help="only the lab's hosts")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as t:
        tmp = Path(t)
        if not args.lab_only:
            text, hosts = local_inventory(args.hosts)
            out = tmp / "out"
            out.mkdir()
            make_estate(tmp / "local", text, None, hosts, args.forks, str(out))
            results.append(measure(f"{args.hosts} local hosts", tmp / "local", hosts, args.forks, str(out),
                                   args.reps, None, tmp / "l", True))
        if args.lab or args.lab_only:
            lab = json.loads((REPO / "tests" / "lab" / "run" / "lab.json").read_text())
            lab_hosts = list(lab["hosts"])
            make_estate(tmp / "lab", None, Path(lab["inventory"]), lab_hosts, args.forks, "/tmp")
            results.append(measure("lab hosts over SSH", tmp / "lab", lab_hosts, args.forks, "/tmp", args.reps,
                                   lab["ssh"]["known_hosts"], tmp / "lb", False))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            m = r["median_s"]
            print(f"engine vs ansible-playbook, {r['label']} (forks {r['forks']}, median of {r['reps']}): "
                  f"peer {m['peer']:.2f}s, maintctl run {m['ours']:.2f}s, ratio {r['ratio']:.3f} (target <= 1.05)")
            if "event_file_ratio" in r:
                print(f"  ansible-runner per-event files ({r['event_files_per_run']} files): adapter "
                      f"{m['adapter_event_files']:.2f}s with vs {m['adapter_no_event_files']:.2f}s without "
                      f"(ratio {r['event_file_ratio']:.3f}); writing them as ansible-runner does costs "
                      f"{r['event_file_write_s']:.3f}s ({100 * r['event_file_write_share_of_peer']:.2f}% of the peer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evidence benchmark: verify vs plain hashlib over the same bytes, and append throughput.

Builds a 100,000-record ledger with artifacts in a temporary folder (bundles of 2,000 records, as
a 200-host run with 10 records per host writes; a signed checkpoint at every bundle close and every
1,000 records; 2,000 artifacts of 16 KiB), then in the same run:
* hashes every byte of the ledger and artifacts with hashlib.sha256 (the peer), single-threaded,
  1 MiB reads;
* runs ``runner.evidence.verify.verify`` over it;
* measures appends: one durable append per call, the same from 200 threads (group commit), and
  ``append_many`` batches.
Prints a small report (and JSON with --json). Ratios, not absolute times, are what matter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner.evidence import artifacts  # noqa: E402
from runner.evidence.keys import load_or_create  # noqa: E402
from runner.evidence.ledger import Entry, Ledger  # noqa: E402
from runner.evidence.verify import verify  # noqa: E402


def build(folder: Path, keys: Path, records: int, n_artifacts: int, artifact_size: int) -> Ledger:
    ledger = Ledger(folder, load_or_create(keys), checkpoint_every=1000)
    per_bundle = 2000  # one bundle per run: 200 hosts x 10 records
    made = 0
    art_every = max(1, records // max(1, n_artifacts))
    bundle = 0
    while made < records:
        bid = f"20261124T220000Z-patch-{bundle:05d}"
        batch = [
            Entry(
                "bundle.opened",
                bid,
                {
                    "run_id": f"r{bundle}",
                    "item_id": "patch-web",
                    "occurrence": "o",
                    "asked": {"plan": {"hosts": [f"web{i}" for i in range(20)]}},
                },
            )
        ]
        for i in range(per_bundle):
            if (made + i) % art_every == 0:
                content = (f"host web{i} apt log line {made + i}\n" * (artifact_size // 32 + 1)).encode()
                content = content[:artifact_size]
                digest = artifacts.put(folder, content)
                batch.append(Entry("artifact", bid, {"name": f"log-{i}", "sha256": digest, "size": len(content),
                                                     "media_type": "text/plain"}))  # fmt: skip
            else:
                batch.append(Entry("event", bid, {"event": "host.result", "data": {
                    "host": f"web{i % 200}", "status": "changed", "took": 12.5, "message": "3 packages upgraded",
                    "packages": ["openssl", "libssl3", "tzdata"]}}))  # fmt: skip
        batch.append(Entry("bundle.closed", bid, {"outcome": "succeeded", "summary": {"hosts": 200}}))
        ledger.append_many(batch, checkpoint=True)
        made += len(batch) + 1
        bundle += 1
    return ledger


def peer_hash(folder: Path) -> tuple[float, int]:
    """hashlib.sha256 over every byte verify reads: the ledger and each artifact file (found by
    walking the folder, as any tool hashing a folder must)."""
    started = time.perf_counter()
    files = [folder / "ledger.jsonl"] + [p for _n, p in artifacts.iter_files(folder)]
    total = 0
    for path in files:
        h = hashlib.sha256()
        with open(path, "rb", buffering=0) as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
                total += len(chunk)
        h.hexdigest()
    return time.perf_counter() - started, total


def time_appends(folder: Path, keys: Path, count: int, threads: int) -> dict[str, float]:
    signer = load_or_create(keys)
    ledger = Ledger(folder, signer, checkpoint_every=1000)
    ledger.append("bundle.opened", "b", {})
    data = {"event": "host.result", "data": {"host": "web1", "status": "ok"}}
    started = time.perf_counter()
    for _ in range(count):
        ledger.append("event", "b", data)
    single = count / (time.perf_counter() - started)

    def worker(n: int) -> None:
        for _ in range(count // threads):
            ledger.append("event", "b", data)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    grouped = (count // threads) * threads / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(20):
        ledger.append_many([Entry("event", "b", data)] * 200)
    batched = 20 * 200 / (time.perf_counter() - started)
    ledger.close()
    return {"appends_per_s_single": single, "appends_per_s_200_threads": grouped, "appends_per_s_batch_200": batched}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--artifacts", type=int, default=2_000)
    ap.add_argument("--artifact-size", type=int, default=16_384)
    ap.add_argument("--appends", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp:
        folder, keys = Path(tmp) / "evidence", Path(tmp) / "keys"
        started = time.perf_counter()
        ledger = build(folder, keys, args.records, args.artifacts, args.artifact_size)
        build_s = time.perf_counter() - started
        public = ledger.signer.public
        ledger.close()
        peer_s, verify_s, full_s = [], [], []
        for _ in range(args.repeat):  # interleaved, best of N: both see the same cache state
            s, total = peer_hash(folder)
            peer_s.append(s)
            started = time.perf_counter()
            report = verify(folder, public)
            verify_s.append(time.perf_counter() - started)
            assert report.ok, [str(e) for e in report.errors[:3]]
            started = time.perf_counter()
            assert verify(folder, public, full=True).ok
            full_s.append(time.perf_counter() - started)
        ledger_bytes = (folder / "ledger.jsonl").stat().st_size
        result = {
            "records": report.records, "artifacts": report.artifacts, "ledger_bytes": ledger_bytes,
            "total_bytes": total, "build_s": round(build_s, 3),
            "hashlib_s": round(min(peer_s), 4), "verify_s": round(min(verify_s), 4),
            "hashlib_MBps": round(total / min(peer_s) / 1e6, 1), "verify_MBps": round(total / min(verify_s) / 1e6, 1),
            "ratio_verify_vs_hashlib": round(min(peer_s) / min(verify_s), 3),
            "verify_full_s": round(min(full_s), 4),
            "ratio_verify_full_vs_hashlib": round(min(peer_s) / min(full_s), 3),
        }  # fmt: skip
        appends = time_appends(Path(tmp) / "appends", keys, args.appends, 200)
        result.update({k: round(v, 1) for k, v in appends.items()})
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:>28}: {v}")
        verdict = "PASS" if result["ratio_verify_vs_hashlib"] >= 0.5 else "FAIL"
        print(f"verify throughput is {result['ratio_verify_vs_hashlib']}x hashlib (target >= 0.5): {verdict}")
    return 0 if result["ratio_verify_vs_hashlib"] >= 0.5 else 1


if __name__ == "__main__":
    os.umask(0o077)
    sys.exit(main())

# ruff: noqa: S608 - fixed SQL on a throwaway benchmark database
"""Backup benchmark: maintctl's backup + verified restore vs the same restic and PostgreSQL
commands run by hand, in the same run, on the same machine.

Data: ``--size`` MiB (default 1024) of incompressible files in 4 MiB pieces, plus a PostgreSQL
database (``--rows`` rows) in a throwaway cluster. Each round uses a fresh restic repository (a path),
so both sides do the full work.

Peer (by hand):   sha256 manifest (find | openssl dgst -sha256) ; restic backup ; pg_dump -Fc | restic backup --stdin ;
                  restic forget --prune ; restic check ; restic restore to a scratch dir ; manifest again + cmp ;
                  createdb ; restic dump | pg_restore ; psql check ; dropdb ; rm -rf scratch
Ours (maintctl):  the backup kind's runner (BackupRunner.before/run_batch/after) with a plan doing
                  the same: manifest, both backups, retention, check, restore test of files and database,
                  plus its state, evidence ledger and redaction.

Rounds alternate (peer, ours, ...); the medians are compared. Target: ratio (ours / peer) <= 1.10.
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
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "bench-restic-password"  # noqa: S105 - a throwaway repository's password


def make_data(root: Path, size_mib: int) -> Path:
    data = root / "data"
    data.mkdir()
    for i in range(max(1, size_mib // 4)):
        (data / f"f{i:04d}.bin").write_bytes(os.urandom(4 << 20))
    return data


class Cluster:
    """A throwaway PostgreSQL cluster on a unix socket, owned by the postgres user."""

    def __init__(self, rows: int) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="maintctl-bench-pg-"))
        self.sock = self.base / "sock"
        self.sock.mkdir()
        for p in (self.base, self.sock):
            shutil.chown(p, "postgres")
        self.port = "54329"
        self._pg("initdb", "-D", str(self.base / "data"), "-A", "trust", "-U", "postgres")
        self._pg("pg_ctl", "-D", str(self.base / "data"), "-w", "-l", str(self.base / "log"), "-o",
                 f"-k {self.sock} -p {self.port} -c listen_addresses='' -c fsync=off", "start")  # fmt: skip
        self.psql("postgres", "create database benchdb")
        self.psql("benchdb", f"create table t as select g as id, md5(g::text) as v from generate_series(1, {rows}) g")

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args], check=True,
                       capture_output=True)  # fmt: skip

    def conn(self) -> list[str]:
        return ["-h", str(self.sock), "-p", self.port, "-U", "postgres"]

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run(["psql", "-X", "-At", *self.conn(), "-d", db, "-c", sql], check=True,
                             capture_output=True, text=True)  # fmt: skip
        return out.stdout.strip()

    def stop(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.base / "data"),
                        "-m", "immediate", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)


def peer(data: Path, work: Path, pg: Cluster, rows: int) -> float:
    repo, scratch = work / "repo-peer", work / "scratch-peer"
    env = {**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD": PASSWORD}
    conn = " ".join(pg.conn())

    def sh(cmd: str) -> str:
        return subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, check=True, capture_output=True,
                              text=True).stdout  # fmt: skip

    sh("restic init")
    t0 = time.monotonic()
    # openssl (SHA-NI) rather than coreutils sha256sum, which is ~2.4x slower here: the peer must not lose on hashing
    sh(f"cd / && find {data} -type f -print0 | sort -z | xargs -0 openssl dgst -sha256 -r > {work}/before.sha256")
    sh(f"restic backup --json --tag files {data} >/dev/null")
    sh(f"pg_dump {conn} --format=custom benchdb | restic backup --json --stdin --stdin-filename benchdb.dump "
       "--tag db >/dev/null")  # fmt: skip
    sh("restic forget --keep-daily 7 --prune >/dev/null")
    sh("restic check >/dev/null")
    sh(f"mkdir -p {scratch} && restic restore latest --tag files --target {scratch} >/dev/null")
    sh(
        f"cd {scratch} && find .{data} -type f -print0 | sort -z | xargs -0 openssl dgst -sha256 -r "
        f"| sed 's# [*][.]/# */#' > {work}/after.sha256 && cmp {work}/before.sha256 {work}/after.sha256"
    )
    sh(
        f"createdb {conn} scratch_peer && restic dump latest --tag db /benchdb.dump | "
        f"pg_restore {conn} --no-owner --no-privileges --exit-on-error --dbname=scratch_peer"
    )
    got = sh(f"psql -X -At {conn} -d scratch_peer -c 'select count(*) from t'").strip()
    sh(f"dropdb {conn} scratch_peer && rm -rf {scratch}")
    elapsed = time.monotonic() - t0
    assert got == str(rows), got
    return elapsed


def ours(data: Path, work: Path, pg: Cluster, rows: int) -> float:
    from runner.catalogue.model import BackupPlan, Catalogue, Inventory, Item, Location, Targets
    from runner.engine.kind import RunContext
    from runner.evidence.recorder import open_recorder
    from runner.kinds.backup.runner import BackupRunner

    estate = work / "estate"
    estate.mkdir()
    (estate / "restic.pass").write_text(PASSWORD + "\n")
    init_env = {**os.environ, "RESTIC_REPOSITORY": str(work / "repo-ours"), "RESTIC_PASSWORD": PASSWORD}
    subprocess.run(["restic", "init"], env=init_env, check=True, capture_output=True)
    plan = {
        "what": {"paths": [str(data)], "postgres": {"databases": ["benchdb"], "host": str(pg.sock),
                                                      "port": int(pg.port), "user": "postgres"}},
        "where": {"restic": {"repository": str(work / "repo-ours"), "password_file": "restic.pass"}},
        "retention": {"keep_daily": 7},
        "verification": {"every": 1, "restore_to": {"path": str(work / "scratch-ours")},
                         "sql_checks": [{"query": "select count(*) from t", "expect": rows}]},
    }  # fmt: skip
    item = Item(
        id="bench",
        kind="backup",
        targets=Targets(hosts=("local",)),
        window="w",
        expected_duration=timedelta(hours=1),
        settings={"plan": "p"},
        location=Location(file="bench"),
    )
    cat = Catalogue(
        root=str(estate),
        windows={},
        freezes=(),
        items=(item,),
        plans={"p": BackupPlan(name="p", settings=plan, location=Location(file="bench"))},
        inventory=Inventory(groups={"all": ("local",)}, hostvars={"local": {"ansible_connection": "local"}}),
    )
    t0 = time.monotonic()
    rec = open_recorder(estate)
    bundle = rec.open_bundle(run_id="bench", item_id="bench", occurrence="bench", asked={})
    ctx = RunContext(run_id="bench", item=item, catalogue=cat, estate_root=str(estate),
                     state_dir=str(estate / ".maintctl"), occurrence="bench", bundle_id=bundle, evidence=rec,
                     hosts=["local"], deadline=None)  # fmt: skip
    kind = BackupRunner()
    kind.before(ctx)
    [res] = kind.run_batch(ctx, ["local"])
    summary = kind.after(ctx, [res])
    rec.close_bundle(bundle, outcome="succeeded" if not res.failed else "failed", summary=summary)
    elapsed = time.monotonic() - t0
    assert res.status == "changed", res.message
    assert [t["ok"] for t in res.data["restore_tests"]] == [True, True]
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="MiB of file data (default 1024)")
    ap.add_argument("--rows", type=int, default=200_000, help="rows in the benchmark database")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="maintctl-bench-backup-", dir="/var/tmp"))
    pg = Cluster(args.rows)
    times: dict[str, list[float]] = {"peer": [], "ours": []}
    try:
        data = make_data(base, args.size)
        for r in range(args.rounds):
            for side, fn in (("peer", peer), ("ours", ours)):
                work = base / f"{side}-{r}"
                work.mkdir()
                times[side].append(fn(data, work, pg, args.rows))
                shutil.rmtree(work, ignore_errors=True)
    finally:
        pg.stop()
        shutil.rmtree(base, ignore_errors=True)
    p, o = statistics.median(times["peer"]), statistics.median(times["ours"])
    report: dict[str, Any] = {"size_mib": args.size, "rows": args.rows, "rounds": args.rounds, "peer_s": times["peer"],
                              "ours_s": times["ours"], "peer_median_s": round(p, 2), "ours_median_s": round(o, 2),
                              "ratio": round(o / p, 3), "target": 1.10}  # fmt: skip
    if args.json:
        print(json.dumps(report))
    else:
        print(f"backup + verified restore, {args.size} MiB files + {args.rows} rows, {args.rounds} rounds")
        print(f"  by hand (restic, pg_dump/pg_restore, openssl dgst): median {p:.2f}s  {times['peer']}")
        print(f"  maintctl backup kind:                             median {o:.2f}s  {times['ours']}")
        print(f"  ratio {o / p:.3f} (target <= 1.10): {'PASS' if o / p <= 1.10 else 'FAIL'}")
    return 0 if o / p <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main())

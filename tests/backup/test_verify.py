"""Manifests and restore tests with real restic and PostgreSQL; scratch targets always cleaned up."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.kinds.backup import manifest as mf
from runner.kinds.backup.postgres import PgTarget, SqlCheck, backup_database
from runner.kinds.backup.restic import Repository, Restic, Snapshot
from runner.kinds.backup.shell import LocalShell
from runner.kinds.backup.verify import choose_point, repository_check, restore_database, restore_files


def _tree(root: Path) -> Path:
    d = root / "srv" / "app"
    (d / "conf").mkdir(parents=True)
    (d / "index.html").write_text("<h1>app</h1>\n")
    (d / "conf" / "app.ini").write_text("a=1\n")
    (d / "blob.bin").write_bytes(os.urandom(50_000))
    os.symlink("index.html", d / "link.html")
    return d


def _backed_up(path_repo: Repository, tmp_path: Path) -> tuple[Restic, Path, mf.Manifest, Snapshot]:
    r = Restic(shell=LocalShell(host="web1"), repo=path_repo)
    r.init()
    data = _tree(tmp_path)
    manifest = mf.take(r.shell, [str(data)])
    r.backup([str(data)], tags=["item:web"])
    return r, data, manifest, r.snapshots()[-1]


def test_manifest_take_and_compare(tmp_path: Path) -> None:
    data = _tree(tmp_path)
    m = mf.take(LocalShell(), [str(data)])
    assert set(m) == {str(data / n) for n in ("index.html", "conf/app.ini", "blob.bin", "link.html")}
    assert m[str(data / "link.html")] == {"link": "index.html"}
    assert m[str(data / "conf/app.ini")]["size"] == 4
    (data / "conf" / "app.ini").write_text("a=2\n")
    (data / "blob.bin").unlink()
    (data / "new").write_text("x")
    diff = mf.compare(m, mf.take(LocalShell(), [str(data)]))
    assert not diff.ok
    assert diff.changed == (str(data / "conf/app.ini"),)
    assert diff.missing == (str(data / "blob.bin"),) and diff.extra == (str(data / "new"),)
    assert f"checksum differs: {data / 'conf/app.ini'}" in diff.describe()


def test_restore_on_other_host_passes_and_cleans(path_repo: Repository, tmp_path: Path) -> None:
    r, _data, manifest, snap = _backed_up(path_repo, tmp_path)
    other = Restic(shell=LocalShell(host="web2"), repo=path_repo)
    scratch_base = tmp_path / "scratch"
    scratch_base.mkdir()
    now = snap.time + timedelta(minutes=5)
    rep = restore_files(
        other,
        snap,
        manifest,
        command=f'test -f "$MAINTCTL_RESTORE_DIR"{_data}/index.html',
        scratch_base=str(scratch_base),
        clock=lambda: now,
    )
    assert rep.ok, rep.to_dict()
    assert rep.host == "web2" and rep.rpo_seconds == 300.0 and rep.rto_seconds is not None
    assert rep.checks[0] == {"name": "manifest", "ok": True, "files": 4}
    assert list(scratch_base.iterdir()) == []


def test_restore_names_the_differing_file(path_repo: Repository, tmp_path: Path) -> None:
    r, data, manifest, snap = _backed_up(path_repo, tmp_path)
    key = str(data / "conf/app.ini")
    manifest[key] = {**manifest[key], "sha256": "0" * 64}
    scratch_base = tmp_path / "scratch"
    scratch_base.mkdir()
    rep = restore_files(r, snap, manifest, command="false", scratch_base=str(scratch_base))
    assert not rep.ok
    assert f"checksum differs: {key}" in rep.differences
    assert any(d.startswith("custom command failed (exit 1): false") for d in rep.differences)
    assert rep.cleaned and list(scratch_base.iterdir()) == []


def test_failed_restore_still_cleans_up(path_repo: Repository, tmp_path: Path) -> None:
    r, _data, manifest, snap = _backed_up(path_repo, tmp_path)
    bogus = Snapshot(id="f" * 64, short_id="ffffffff", time=snap.time, paths=snap.paths, hostname="x")
    scratch_base = tmp_path / "scratch"
    scratch_base.mkdir()
    rep = restore_files(r, bogus, manifest, scratch_base=str(scratch_base))
    assert not rep.ok and "restic restore failed" in rep.error
    assert rep.cleaned and list(scratch_base.iterdir()) == []


def test_database_restore_test(path_repo: Repository, pg_cluster: dict[str, str], pg_admin: Any) -> None:
    pg_admin.sql("postgres", "drop database if exists shop")
    pg_admin.sql("postgres", "create database shop")
    pg_admin.sql("shop", "create table t(x int); insert into t select generate_series(1, 42)")
    target = PgTarget(database="shop", host=pg_cluster["host"], port=int(pg_cluster["port"]), user="postgres")
    r = Restic(shell=LocalShell(host="db1"), repo=path_repo)
    r.init()
    backup_database(r, target, tags=["item:db"])
    snap = r.snapshots()[-1]
    good = [SqlCheck(name="rows", query="select count(*) from t", expect="42")]
    rep = restore_database(r, snap, target, good, command='test -n "$MAINTCTL_SCRATCH_DB"')
    assert rep.ok, rep.to_dict()
    bad = [*good, SqlCheck(name="max x", query="select max(x) from t", expect="43")]
    rep = restore_database(r, snap, target, bad)
    assert not rep.ok and rep.cleaned
    assert rep.differences == ["SQL check 'max x' returned '42', expected = '43'"]
    assert not [d for d in pg_admin.databases() if d.startswith("maintctl_verify_")]


def test_choose_point_and_repository_check(path_repo: Repository, tmp_path: Path) -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    snaps = [Snapshot(id=str(i), short_id=str(i), time=t + timedelta(days=i), paths=(), hostname="h") for i in range(5)]
    assert choose_point(snaps, "latest").id == "4"
    picks = {choose_point(snaps, "random", random.Random(i)).id for i in range(50)}  # noqa: S311
    assert len(picks) > 1
    r, *_ = _backed_up(path_repo, tmp_path)
    rep = repository_check(r, "1/2")
    assert rep.ok and rep.checks[0]["read_data_subset"] == "1/2"


def test_restore_paths_only_restores_and_compares_those(path_repo: Repository, tmp_path: Path) -> None:
    r, data, manifest, snap = _backed_up(path_repo, tmp_path)
    scratch_base = tmp_path / "scratch"
    scratch_base.mkdir()
    rep = restore_files(r, snap, manifest, scratch_base=str(scratch_base), include=[str(data / "conf")])
    assert rep.ok, rep.to_dict()
    assert rep.checks[0] == {"name": "manifest", "ok": True, "files": 1}

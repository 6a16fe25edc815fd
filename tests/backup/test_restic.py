"""restic wrapper against the real restic binary, on a path repository and on S3 (moto server)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.errors import AdapterError
from runner.kinds.backup.restic import Repository, Restic, parse_check, parse_time
from runner.kinds.backup.shell import CommandFailed, LocalShell


def _data(root: Path) -> Path:
    d = root / "data"
    (d / "sub").mkdir(parents=True)
    (d / "a.bin").write_bytes(os.urandom(200_000))
    (d / "sub" / "b.txt").write_text("hello\n")
    return d


def test_s3_backup_snapshots_restore(restic_s3: Restic, tmp_path: Path) -> None:
    data = _data(tmp_path)
    summary = restic_s3.backup([str(data)], tags=["item:files"])
    assert summary.files_new == 2 and summary.total_bytes_processed == 200_006
    snaps = restic_s3.snapshots(tags=["item:files"])
    assert [s.id[:8] for s in snaps] == [summary.snapshot_id[:8]]
    assert snaps[0].tags == ("item:files",)
    restic_s3.restore(snaps[0].id, str(tmp_path / "out"))
    restored = tmp_path / "out" / str(data).lstrip("/")
    assert (restored / "a.bin").read_bytes() == (data / "a.bin").read_bytes()
    assert restic_s3.check().ok
    assert restic_s3.stats()["total_file_count"] >= 2


def test_password_never_in_command_or_output(restic_s3: Restic, tmp_path: Path) -> None:
    data = _data(tmp_path)
    restic_s3.backup([str(data)])
    res = restic_s3._run(["snapshots", "--json"], what="x")
    for text in (res.command, res.stdout, res.stderr):
        assert "canary-restic-pw-4711" not in text
        assert "testing-secret-key" not in text


def test_wrong_password_fails_clearly(s3_repo: Repository, restic_s3: Restic) -> None:
    bad = Restic(
        shell=LocalShell(),
        repo=Repository(
            url=s3_repo.url,
            password="wrong-password",  # noqa: S106
            env=s3_repo.env,
            secret_env=s3_repo.secret_env,
        ),
    )
    with pytest.raises(CommandFailed, match="restic snapshots failed"):
        bad.snapshots()


def test_password_file_repository(path_repo: Repository, tmp_path: Path) -> None:
    r = Restic(shell=LocalShell(), repo=path_repo)
    r.init()
    r.init()  # idempotent
    data = _data(tmp_path)
    r.backup([str(data)])
    assert len(r.snapshots()) == 1


def test_forget_prunes_by_retention(path_repo: Repository, tmp_path: Path) -> None:
    r = Restic(shell=LocalShell(), repo=path_repo)
    r.init()
    data = _data(tmp_path)
    for i in range(3):
        (data / f"n{i}").write_text(str(i))
        r.backup([str(data)], tags=["t"])
    out = r.forget({"last": 1}, tags=["t"])
    assert out == {"kept": 1, "removed": 2, "pruned": True}
    assert len(r.snapshots()) == 1
    with pytest.raises(AdapterError, match="keeps nothing"):
        r.forget({"daily": 0})


def test_stdin_backup_and_failed_producer(path_repo: Repository, tmp_path: Path) -> None:
    r = Restic(shell=LocalShell(), repo=path_repo)
    r.init()
    s = r.backup_stdin("printf 'dump-bytes'", "db.dump", tags=["db"])
    out = tmp_path / "got"
    r.dump_into(s.snapshot_id, "/db.dump", f"cat > {out}")
    assert out.read_text() == "dump-bytes"
    with pytest.raises(CommandFailed):
        r.backup_stdin("printf partial; exit 3", "db.dump", tags=["db"])
    # the partial snapshot of the failed producer is not kept
    assert [x.id for x in r.snapshots(tags=["db"])] == [r.snapshots(tags=["db"])[0].id]
    assert len(r.snapshots(tags=["db"])) == 1


def test_damaged_pack_is_named(path_repo: Repository, tmp_path: Path) -> None:
    r = Restic(shell=LocalShell(), repo=path_repo)
    r.init()
    r.backup([str(_data(tmp_path))])
    packs = sorted(p for p in (Path(path_repo.url) / "data").rglob("*") if p.is_file())
    victim = max(packs, key=lambda p: p.stat().st_size)
    victim.chmod(0o600)
    with victim.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"XXXX")
    report = r.check(read_data=True)
    assert not report.ok
    assert victim.name in report.damaged_packs
    assert report.read_data_subset == "all"


def test_check_subset_recorded(path_repo: Repository, tmp_path: Path) -> None:
    r = Restic(shell=LocalShell(), repo=path_repo)
    r.init()
    r.backup([str(_data(tmp_path))])
    rep = r.check(read_data_subset="2/3")
    assert rep.ok and rep.read_data_subset == "2/3" and rep.damaged_packs == ()


def test_parsers() -> None:
    t = parse_time("2026-11-24T21:13:42.616835688Z")
    assert t.microsecond == 616835 and t.utcoffset() is not None
    rep = parse_check(1, "Pack ID does not match, want " + "ab" * 32 + ", got " + "cd" * 32, None)
    assert rep.damaged_packs == ("ab" * 32,) and not rep.ok

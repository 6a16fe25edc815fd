"""The malformed-catalogue corpus: every case gives a located error, exit 2 and no traceback.

Each folder in tests/data/bad/ (except ``_base``) is one case: ``estate/`` holds the files laid over
a copy of the valid ``_base`` estate, and ``expect`` says what ``maintctl validate`` must print::

    path: .                                  # what to validate, relative to the estate
    location: maintenance/items.yml:6:13     # file:line:column (a substring of the output)
    message: unknown window 'weekley'        # part of the message
    field: items[0].window                   # optional: the field path shown
    base: none                               # optional: start from an empty folder
    remove: inventory/hosts.yml              # optional: delete a base file
    grow: maintenance/huge.yml 1100000       # optional: pad a file to this many bytes
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli.main import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
REPO = Path(__file__).resolve().parents[2]


def _expect(case: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (CORPUS / case / "expect").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(": ")
        out.setdefault(key.strip(), []).append(value)
    return out


def _lay_out(case: str, tmp: Path, expect: dict[str, list[str]]) -> Path:
    root = tmp / "estate"
    if expect.get("base") != ["none"]:
        shutil.copytree(CORPUS / "_base", root)
    root.mkdir(exist_ok=True)
    overlay = CORPUS / case / "estate"
    if overlay.is_dir():
        shutil.copytree(overlay, root, dirs_exist_ok=True)
    for rel in expect.get("remove", []):
        (root / rel).unlink()
    for spec in expect.get("grow", []):
        rel, size = spec.split()
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("windows: {}\n" + "#" * int(size) + "\n", encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAINTCTL_NO_CACHE", "1")


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 50


def test_base_estate_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(CORPUS / "_base", tmp_path / "estate")
    assert main(["validate", str(tmp_path / "estate")]) == 0
    assert capsys.readouterr().out.startswith("ok: 2 windows, 1 freezes, 2 items in 5 files")


@pytest.mark.parametrize("case", CASES)
def test_bad_case(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expect = _expect(case)
    root = _lay_out(case, tmp_path, expect)
    target = root / expect["path"][0]
    rc = main(["validate", str(target)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert rc == 2, output
    assert "Traceback" not in output
    assert "internal error" not in output
    for key in ("location", "message", "field"):
        for wanted in expect.get(key, []):
            wanted = f" {wanted}:" if key == "field" else wanted
            assert wanted in output, f"{case}: expected {key} {wanted!r} in:\n{output}"


@pytest.mark.parametrize("case", ["yaml-billion-laughs", "item-unknown-window", "yaml-binary-garbage"])
def test_bad_case_through_the_installed_command(case: str, tmp_path: Path) -> None:
    expect = _expect(case)
    root = _lay_out(case, tmp_path, expect)
    env = {**os.environ, "MAINTCTL_NO_CACHE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli.main", "validate", str(root / expect["path"][0])],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output
    assert expect["location"][0] in output
    assert expect["message"][0] in output


def test_json_output_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    expect = _expect("item-unknown-window")
    root = _lay_out("item-unknown-window", tmp_path, expect)
    assert main(["validate", "--json", str(root)]) == 2
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False
    assert [(p["file"], p["line"], p["column"], p["path"]) for p in doc["problems"]] == [
        ("maintenance/items.yml", 6, 13, "items[0].window")
    ]

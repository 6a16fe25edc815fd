"""bench/timeline.py: the marks a process named ansible-playbook leaves, and the split they give."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from timeline import Timeline  # noqa: E402


def _script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_split_of_a_wrapper_that_starts_ansible_playbook(tmp_path: Path) -> None:
    # A stand-in for maintctl: works 0.3 s, runs "ansible-playbook" (0.5 s), then works 0.2 s.
    playbook = _script(tmp_path, "ansible-playbook", "import time; time.sleep(0.5)")
    wrapper = _script(tmp_path, "maintctl",
                      f"import subprocess, time\ntime.sleep(0.3)\nsubprocess.run([{str(playbook)!r}], check=True)\n"
                      "time.sleep(0.2)")
    timeline = Timeline()
    env = timeline.env({**os.environ, "PYTHONPATH": "/nonexistent"})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(timeline.dir), "/nonexistent"]
    timeline.begin()
    subprocess.run([str(wrapper)], env=env, check=True)
    timeline.end("ours")
    (pre, inside, post), = timeline.splits["ours"]
    assert 0.3 <= pre < 0.3 + 0.5
    assert 0.5 <= inside < 0.5 + 0.3
    assert 0.2 <= post < 0.2 + 0.3
    marks = timeline.log.read_text(encoding="ascii").split("\n")
    assert [m.split()[0] for m in marks if m] == ["maintctl", "ansible-playbook", "ansible-playbook", "maintctl"]


def test_other_processes_leave_no_marks_and_a_run_without_ansible_is_refused(tmp_path: Path) -> None:
    other = _script(tmp_path, "something-else", "pass")
    timeline = Timeline()
    timeline.begin()
    subprocess.run([str(other)], env=timeline.env(dict(os.environ)), check=True)
    time.sleep(0.01)
    assert timeline.log.read_text(encoding="ascii") == ""
    with pytest.raises(SystemExit, match="no ansible-playbook start and end marks"):
        timeline.end("peer")


def test_report_pairs_the_inside_parts() -> None:
    timeline = Timeline()
    timeline.splits = {"peer": [(0.01, 5.0, 0.1), (0.01, 4.0, 0.1)], "ours": [(0.2, 5.1, 0.12), (0.2, 4.3, 0.12)]}
    report = timeline.report()
    assert report["peer"] == {"pre_s": 0.01, "inside_s": 4.5, "post_s": 0.1}
    assert report["ours"] == {"pre_s": 0.2, "inside_s": 4.7, "post_s": 0.12}
    assert report["inside_paired_diff_median_s"] == 0.2
    assert report["paired_diffs_s"] == [[0.19, 0.1, 0.02], [0.19, 0.3, 0.02]]

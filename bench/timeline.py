"""``--timeline`` for the benchmarks: where a run's time goes, before, inside and after ansible-playbook.

Both sides run with a ``sitecustomize`` module first on ``PYTHONPATH`` that, in a process named
``ansible-playbook`` or ``maintctl``, appends its start (at interpreter start-up) and its end (at
exit) to a log. The environment reaches ansible-playbook unchanged on both sides (maintctl passes
its own environment on to ansible-runner), so each side's Ansible is timed the same way, by the
same clock. Per run:

* ``pre``: from the benchmark starting the command to ansible-playbook's interpreter starting
  (the peer: process start-up only; maintctl: its own start, catalogue, state, ... as well);
* ``inside``: from the first ansible-playbook's start to the last one's exit handlers (Python's
  teardown after them, ~0.15 s for Ansible, counts as ``post`` on both sides);
* ``post``: from there to the command's exit.

A diagnostic: a ``sitecustomize`` of the environment's own is shadowed while it runs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SITE = '''\
import atexit, os, sys, time
_log = os.environ.get("BENCH_TIMELINE_LOG")
_name = os.path.basename(sys.argv[0]) if sys.argv else ""
if _log and _name in ("ansible-playbook", "maintctl"):
    def _mark(what, at):
        with open(_log, "a", encoding="ascii") as fh:
            fh.write(f"{_name} {os.getpid()} {what} {at:.6f}\\n")
    _mark("start", time.time())
    atexit.register(lambda: _mark("end", time.time()))
'''


class Timeline:
    """Collects (pre, inside, post) per run and side."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-timeline-"))
        atexit.register(shutil.rmtree, self.dir, True)
        (self.dir / "sitecustomize.py").write_text(_SITE, encoding="ascii")
        self.log = self.dir / "marks.log"
        self.splits: dict[str, list[tuple[float, float, float]]] = {}
        self._t0 = 0.0

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` with the marking module first on the path."""
        path = os.pathsep.join(p for p in (str(self.dir), env.get("PYTHONPATH", "")) if p)
        return {**env, "PYTHONPATH": path, "BENCH_TIMELINE_LOG": str(self.log)}

    def begin(self) -> None:
        self.log.write_text("", encoding="ascii")
        self._t0 = time.time()

    def end(self, side: str) -> None:
        """Split the run that began at ``begin()`` and ends now."""
        t1 = time.time()
        starts: list[float] = []
        ends: list[float] = []
        for line in self.log.read_text(encoding="ascii").splitlines():
            name, _pid, what, at = line.split()
            if name == "ansible-playbook":
                (starts if what == "start" else ends).append(float(at))
        if not starts or not ends:
            raise SystemExit(f"timeline: no ansible-playbook start and end marks in {self.log}")
        first, last = min(starts), max(ends)
        self.splits.setdefault(side, []).append((first - self._t0, last - first, t1 - last))

    def report(self) -> dict[str, object]:
        """Medians per side, and the median per-round difference of the inside part against the peer."""
        out: dict[str, object] = {}
        for side, rows in self.splits.items():
            out[side] = {k: round(statistics.median(r[i] for r in rows), 3)
                         for i, k in enumerate(("pre_s", "inside_s", "post_s"))}
        peer, ours = self.splits.get("peer"), self.splits.get("ours")
        if peer and ours:
            out["inside_paired_diff_median_s"] = round(
                statistics.median(o[1] - p[1] for o, p in zip(ours, peer, strict=True)), 3)
            # Per round (ours minus peer: pre, inside, post): the medians hide which part an outlier round lost.
            out["paired_diffs_s"] = [[round(o[i] - p[i], 3) for i in range(3)] for o, p in zip(ours, peer, strict=True)]
        return out


@contextmanager
def span(timeline: Timeline | None, side: str, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Time one run of ``side`` with ``timeline`` (nothing when None); yields the run's environment."""
    if timeline is None:
        yield env
        return
    marked = timeline.env(env)
    timeline.begin()
    yield marked
    timeline.end(side)

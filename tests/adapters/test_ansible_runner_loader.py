"""ansible-runner loaded without its package __init__: no entry-point scan, no event plugins.

Each test runs in a fresh interpreter: what is imported, and whether the package __init__ ran, can
only be observed in a process that has not imported ansible-runner yet.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.find_spec("ansible_runner")  # finds the package without importing it
assert _SPEC is not None and _SPEC.origin is not None
INIT = Path(_SPEC.origin).resolve()

# Records every module body executed (a "call" event on a "<module>" frame) from here on.
TRACE = """
import sys
ran = []
def _trace(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "<module>":
        ran.append(frame.f_code.co_filename)
sys.settrace(_trace)
"""

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: write
      copy: {content: "x\\n", dest: "{{ out }}/{{ inventory_hostname }}"}
"""

# A distribution on sys.path that declares an ansible_runner.plugins entry point. Its event handler
# leaves a file behind, so a test can see whether it was handed any events.
SPY = """
import os

def event_handler(config, data):
    with open(os.environ["SPY_LOG"], "a", encoding="utf-8") as fh:
        fh.write(data.get("event", "?") + "\\n")

def status_handler(config, data):
    event_handler(config, {"event": "status"})
"""


def run_python(code: str, env: dict[str, str] | None = None, *, trace: bool = False) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter (after TRACE with ``trace``); it prints one JSON object last."""
    done = subprocess.run(
        [sys.executable, "-c", (TRACE if trace else "") + textwrap.dedent(code)],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def spy_distribution(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    (site / "spy_dist-1.0.dist-info").mkdir(parents=True)
    (site / "spy_dist-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: spy-dist\nVersion: 1.0\n")
    (site / "spy_dist-1.0.dist-info" / "entry_points.txt").write_text("[ansible_runner.plugins]\nspy = spy_plugin\n")
    (site / "spy_plugin.py").write_text(SPY)
    return {"PYTHONPATH": str(site), "SPY_LOG": str(tmp_path / "spy.log")}


def test_loader_does_not_run_the_package_init() -> None:
    out = run_python(
        """
        from runner.adapters.ansible_runner_loader import load_ansible_runner
        package = load_ansible_runner()
        sys.settrace(None)
        import json, ansible_runner, ansible_runner.interface as interface, ansible_runner.runner as rr
        print(json.dumps({
            "ran": ran,
            "metadata": "importlib.metadata" in sys.modules,
            "same": ansible_runner is package and sys.modules["ansible_runner"] is package,
            "run": ansible_runner.run is interface.run and ansible_runner.run_async is interface.run_async,
            "runner": package.runner is rr and ansible_runner.Runner is rr.Runner,
            "plugins": repr(ansible_runner.plugins),
            "init_names": hasattr(ansible_runner, "importlib_metadata"),
        }))
        """,
        trace=True,
    )
    ran = [str(Path(p).resolve()) for p in out["ran"]]
    assert str(INIT.parent / "interface.py") in ran  # the trace sees ansible-runner's modules run...
    assert str(INIT) not in ran  # ...and its package __init__ is not among them
    assert out["metadata"] is False and out["init_names"] is False
    assert out["same"] and out["run"] and out["runner"]
    assert out["plugins"] == "{}"


def test_trace_sees_the_package_init_of_a_plain_import() -> None:
    """The check above can fail: a plain import runs __init__ and loads importlib.metadata."""
    out = run_python(
        """
        import ansible_runner
        sys.settrace(None)
        import json
        print(json.dumps({"ran": ran, "metadata": "importlib.metadata" in sys.modules}))
        """,
        trace=True,
    )
    assert str(INIT) in [str(Path(p).resolve()) for p in out["ran"]]
    assert out["metadata"] is True


def test_exports_match_the_package_init() -> None:
    """Every name the real __init__ binds (but importlib_metadata) is there, bound to the same object."""
    out = run_python(
        """
        import json, sys
        from runner.adapters.ansible_runner_loader import load_ansible_runner
        ours = {k: v for k, v in vars(load_ansible_runner()).items() if not k.startswith("__")}
        for name in [n for n in sys.modules if n == "ansible_runner" or n.startswith("ansible_runner.")]:
            del sys.modules[name]
        import ansible_runner
        real = {k: v for k, v in vars(ansible_runner).items() if not k.startswith("__")}
        print(json.dumps({
            "missing": sorted(set(real) - set(ours)),
            "extra": sorted(set(ours) - set(real)),
            "differ": sorted(k for k in set(real) & set(ours)
                             if k != "plugins" and getattr(real[k], "__qualname__", None) is not None
                             and real[k].__qualname__ != ours[k].__qualname__),
            "plugins": [type(real["plugins"]).__name__, type(ours["plugins"]).__name__],
        }))
        """
    )
    assert out["missing"] == ["importlib_metadata"]
    assert out["extra"] == [] and out["differ"] == []
    assert out["plugins"] == ["dict", "dict"]


def test_an_installed_event_plugin_gets_no_events(tmp_path: Path) -> None:
    env = spy_distribution(tmp_path)
    plain = run_python(
        """
        import json, ansible_runner
        print(json.dumps({"plugins": sorted(ansible_runner.plugins)}))
        """,
        env,
    )
    assert plain["plugins"] == ["spy"]  # ansible-runner's own __init__ would hand it every event

    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    l1: {ansible_connection: local}\n")
    (tmp_path / "out").mkdir()
    out = run_python(
        f"""
        import json, sys
        from pathlib import Path
        from runner.adapters.ansible import PlaybookSpec, run_playbook
        tmp = Path({str(tmp_path)!r})
        spec = PlaybookSpec(playbook=tmp / "pb.yml", inventory=tmp / "inv.yml", hosts=["l1"],
                            extravars={{"out": str(tmp / "out")}})
        res = run_playbook(spec, data_dir=tmp / "run")
        import ansible_runner
        print(json.dumps({{
            "status": res.status,
            "hosts": {{h: r.status for h, r in res.hosts.items()}},
            "events": res.events,
            "plugins": repr(ansible_runner.plugins),
            "metadata": "importlib.metadata" in sys.modules,
        }}))
        """,
        env,
    )
    assert out["status"] == "successful" and out["hosts"] == {"l1": "changed"} and out["events"] > 0
    assert (tmp_path / "out" / "l1").read_text() == "x\n"
    assert out["plugins"] == "{}" and out["metadata"] is False
    assert not Path(env["SPY_LOG"]).exists()


def test_a_normal_import_is_used_as_it_is(tmp_path: Path) -> None:
    out = run_python(
        """
        import json, ansible_runner
        from runner.adapters.ansible_runner_loader import load_ansible_runner
        print(json.dumps({"same": load_ansible_runner() is ansible_runner,
                          "plugins": sorted(ansible_runner.plugins)}))
        """,
        spy_distribution(tmp_path),
    )
    assert out == {"same": True, "plugins": ["spy"]}


def test_a_failed_load_leaves_no_half_built_package() -> None:
    out = run_python(
        """
        import json, sys
        from importlib.abc import MetaPathFinder

        class Broken(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "ansible_runner.streaming":
                    raise ImportError("broken for the test")
                return None

        sys.meta_path.insert(0, Broken())
        from runner.adapters.ansible_runner_loader import load_ansible_runner
        try:
            load_ansible_runner()
            error = ""
        except ImportError as exc:
            error = str(exc)
        left = sorted(n for n in sys.modules if n.split(".")[0] == "ansible_runner")
        sys.meta_path.pop(0)
        import ansible_runner
        print(json.dumps({"error": error, "left": left, "init": hasattr(ansible_runner, "importlib_metadata")}))
        """
    )
    assert out == {"error": "broken for the test", "left": [], "init": True}

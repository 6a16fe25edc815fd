"""The entry point: only the chosen command's module is imported, and help still lists every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runner.cli.main import COMMANDS, _commands_for, build_parser, main


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        (["plan", "--summary"], ["plan"]),
        (["--estate", "plan", "validate"], ["validate"]),  # "plan" is the value of --estate here
        (["--estate=/x", "drift", "--format", "json"], ["drift"]),
        (["--help"], list(COMMANDS)),
        (["--version"], list(COMMANDS)),
        ([], list(COMMANDS)),
        (["bogus"], list(COMMANDS)),
    ],
)
def test_commands_for(argv: list[str], want: list[str]) -> None:
    assert _commands_for(argv) == want


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser(["--help"]).parse_args(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_unknown_command_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bogus"])
    assert exc.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_one_command_imports_no_other() -> None:
    code = (
        "import sys; from runner.cli.main import build_parser; build_parser(['validate', '.']); "
        "print(sorted(m for m in sys.modules if m.startswith('runner.cli.') and m != 'runner.cli.main'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['runner.cli.validate']"


def test_version_is_looked_up_when_asked() -> None:
    proc = subprocess.run([sys.executable, "-m", "runner.cli.main", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("maintctl ")


def _console(body: str) -> subprocess.CompletedProcess[str]:
    code = "import atexit, sys, threading, time\nimport runner.cli.main as m\n" + body + "\nm.console()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_console_exits_with_mains_code_after_threads_atexit_and_flush() -> None:
    # The fast exit skips interpreter teardown, not what teardown would deliver: a non-daemon thread's
    # last write, the atexit handlers, and buffered output (a pipe: stdout is block-buffered here).
    proc = _console(
        "atexit.register(lambda: print('atexit ran'))\n"
        "def late():\n    time.sleep(0.2); sys.stdout.write('thread done\\n')\n"
        "def fake(argv=None):\n"
        "    threading.Thread(target=late).start(); sys.stdout.write('x' * 100000 + '\\n'); return 3\n"
        "m.main = fake"
    )
    assert proc.returncode == 3
    assert proc.stdout == "x" * 100000 + "\nthread done\natexit ran\n"


@pytest.mark.parametrize(("code", "rc", "err"), [(None, 0, ""), (2, 2, ""), ("bad usage", 1, "bad usage\n")])
def test_console_maps_system_exit_like_the_interpreter(code: object, rc: int, err: str) -> None:
    proc = _console(f"def fake(argv=None):\n    raise SystemExit({code!r})\nm.main = fake")
    assert (proc.returncode, proc.stderr) == (rc, err)


def test_console_usage_error_exits_2() -> None:
    proc = subprocess.run([sys.executable, "-c", "from runner.cli.main import console; console()", "bogus"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'bogus'" in proc.stderr

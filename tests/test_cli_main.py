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

"""maintctl's entry point: parse, dispatch to a command module, map errors to exit codes.

Command modules are imported to register their arguments, so they must import heavy libraries
(ansible, boto3, cryptography, ...) inside their ``run`` functions, never at module level.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from runner.errors import MaintctlError

# Subcommand name -> module; each module defines ``register(subparsers) -> None``.
COMMANDS: dict[str, str] = {
    "validate": "runner.cli.validate",
    "plan": "runner.cli.plan",
    "drift": "runner.cli.drift",
    "evidence": "runner.cli.evidence",
    "changes": "runner.cli.changes",
    "certs": "runner.cli.certs",
    "backup": "runner.cli.backup",
    "run": "runner.cli.run",
    "serve": "runner.cli.serve",
    "runs": "runner.cli.runs",
    "show": "runner.cli.show",
    "patch": "runner.cli.patch",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv`` naming a command, only that command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="maintctl",
        description="Plan, run and prove routine infrastructure maintenance declared in a git estate.",
    )
    parser.add_argument("--estate", metavar="DIR", help="estate root (default: nearest folder with maintenance/)")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _commands_for(argv):
        module = importlib.import_module(COMMANDS[name])
        module.register(sub)
    return parser


def _commands_for(argv: Sequence[str] | None) -> list[str]:
    """Every command, unless ``argv`` picks one: then the others' modules need not be imported.

    The command is the first argument that names one and is not the value of ``--estate``; anything
    that makes the choice unclear (``--help`` before it, no command at all) registers every command so
    that help and error messages list them all.
    """
    if argv is None:
        return list(COMMANDS)
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--estate":
            skip = True
            continue
        if arg.startswith("-"):
            if arg in ("-h", "--help", "--version"):
                break
            continue
        return [arg] if arg in COMMANDS else list(COMMANDS)
    return list(COMMANDS)


class _VersionAction(argparse.Action):
    """``--version``, looking the version up only when asked (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version and exit")

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(f"maintctl {_version()}\n")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("maintctl")
    except PackageNotFoundError:
        return "0+unknown"


def internal_log_path() -> Path:
    """Where tracebacks of unexpected errors go (never to the terminal)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "maintctl"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        import tempfile

        base = Path(tempfile.gettempdir())
    return base / "internal-errors.log"


def _log_internal(exc: BaseException) -> Path:
    path = internal_log_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(f"--- {datetime.now(UTC).isoformat()} argv={sys.argv!r}\n")
        import traceback

        from runner.redact import redact_text

        # A secret can sit in any exception's message or locals' repr: the log is no exception.
        fh.write(redact_text("".join(traceback.format_exception(exc))))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc: int = args.func(args)
        return rc
    except MaintctlError as exc:
        from runner.redact import redact_text

        print(f"maintctl: {redact_text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("maintctl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the one place that turns surprises into a message
        path = _log_internal(exc)
        print(
            f"maintctl: internal error ({type(exc).__name__}); this is a bug in maintctl. "
            f"The traceback is in {path}",
            file=sys.stderr,
        )
        return 70


def console() -> None:
    """The ``maintctl`` command: ``main()``, then the process ends without tearing the interpreter down.

    Why: CPython's finalization clears every imported module (about 250 on a run's path) and collects
    what is left, ~15 ms on each command, which CI pays on every drift check. Nothing of maintctl's
    depends on it: by the time ``main`` returns, state is committed, evidence is fsynced and change
    records are closed. What shutdown would still do that matters is done by ``runner.procexit``.
    """
    from runner import procexit

    try:
        rc = main()
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        rc = procexit.exit_status(exc.code)
    procexit.end(rc)


if __name__ == "__main__":  # pragma: no cover
    console()

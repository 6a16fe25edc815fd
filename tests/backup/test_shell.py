"""Secrets reach commands as exported variables read from stdin, never through argv."""

from __future__ import annotations

import pytest

from runner.errors import AdapterError
from runner.kinds.backup.shell import LocalShell, compose


def test_secret_is_in_environment_not_in_argv() -> None:
    secret = "argv-canary-31337"  # noqa: S105 - a canary
    res = LocalShell().run(
        'printf "%s|" "$MY_SECRET"; tr "\\0\\n" "  " < /proc/$$/cmdline; echo; cat',
        secrets={"MY_SECRET": secret},
        stdin=b"payload after the secrets\n",
    )
    assert res.ok, res.stderr
    env_value, cmdline = res.stdout.splitlines()[0].split("|", 1)
    assert env_value == secret and secret not in cmdline and "MY_SECRET" in cmdline
    assert res.stdout.splitlines()[1] == "payload after the secrets"
    assert secret not in res.command


def test_secret_with_newline_or_bad_name_is_refused() -> None:
    with pytest.raises(AdapterError, match="cannot be passed"):
        compose("true", {"X": "a\nb"}, b"")
    with pytest.raises(AdapterError, match="cannot be passed"):
        compose("true", {"1X; rm": "v"}, b"")


def test_pipefail_makes_a_failing_producer_fail() -> None:
    assert LocalShell().run("false | cat").rc == 1

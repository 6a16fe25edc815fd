"""`maintctl certs scan` against real local TLS servers (ad-hoc endpoints) and through a catalogue."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from certs_pki import NOW, Issued, TLSServer, make_ca, make_leaf, server_context, tls_server

from runner.cli import certs as cli
from runner.errors import UsageError


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="maintctl")
    parser.add_argument("--estate")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = make_ca("CLI Root")
    return {"root": root, "good": make_leaf(["good.test"], root),
            "soon": make_leaf(["soon.test"], root, not_after=NOW + timedelta(days=3))}


@pytest.fixture(scope="module")
def server(pki: dict[str, Issued]) -> Iterator[TLSServer]:
    with tls_server(server_context(pki["good"]), {"soon.test": server_context(pki["soon"])}) as srv:
        yield srv


def test_json_output_and_exit_codes(server: TLSServer, pki: dict[str, Issued], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    trust = tmp_path / "root.pem"
    trust.write_bytes(pki["root"].cert_pem)
    rc = run(["certs", "scan", "--endpoint", f"127.0.0.1:{server.port}/good.test", "--trust", str(trust), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    [c] = doc["certificates"]
    assert c["cert"]["sans"] == ["good.test"] and c["chain_valid"] is True and c["name_match"] is True
    assert c["findings"] == [] and c["cert"]["days_left"] > 80

    rc = run(["certs", "scan", "--endpoint", f"127.0.0.1:{server.port}/soon.test",
              "--endpoint", f"127.0.0.1:{server.port}/other.test", "--trust", str(trust), "--json"])
    soon, other = json.loads(capsys.readouterr().out)["certificates"]
    assert rc == 2
    assert soon["findings"] == ["expires in 3.0 days"]
    assert other["findings"] == ["name other.test not covered"]


def test_table_output(server: TLSServer, capsys: pytest.CaptureFixture[str]) -> None:
    rc = run(["certs", "scan", "--endpoint", f"127.0.0.1:{server.port}/good.test"])
    out = capsys.readouterr()
    assert rc == 0 and "CN=good.test" in out.out and "1 certificate(s), 0 with findings" in out.err


def test_bad_endpoint_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="expected HOST:PORT"):
        run(["certs", "scan", "--endpoint", "nohostport"])
    assert cli.parse_endpoint("[::1]:8443/x.test") == ("::1", 8443, "x.test")


def test_unknown_item_names_the_known_ones() -> None:
    repo = Path(__file__).resolve().parents[2]
    with pytest.raises(UsageError, match="no certificate item named nope .certificate items: certs-web"):
        run(["--estate", str(repo), "certs", "scan", "nope"])

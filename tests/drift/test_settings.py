"""The drift: block: schema errors name file, line and field; valid blocks read into typed settings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from runner.errors import CatalogueError
from runner.kinds.drift.settings import Rule, ingress_rules, parse

HEAD = """windows:
  hourly: {cron: "0 * * * *", timezone: UTC, duration: 1h}
items:
  - id: d
    kind: drift
    targets: {groups: [all]}
    window: hourly
    expected_duration: 5m
    drift:
"""


def load(tmp_path: Path, block: str) -> object:
    from runner.catalogue.loader import load_catalogue

    (tmp_path / "maintenance").mkdir(exist_ok=True)
    (tmp_path / "inventory").mkdir(exist_ok=True)
    (tmp_path / "inventory" / "hosts.ini").write_text("[all]\nh1\n")
    (tmp_path / "maintenance" / "d.yml").write_text(HEAD + block)
    return load_catalogue(tmp_path)


@pytest.mark.parametrize(
    ("block", "where", "words"),
    [
        (
            "      playbooks: [x.yml]\n      waivers:\n        - {host: h1, expires: 2030-01-01}\n",
            ":12:",
            "justification",
        ),
        (
            "      playbooks: [x.yml]\n      waivers:\n        - {justification: j, expires: 2030-01-01}\n",
            ":12:",
            "waiver",
        ),
        (
            "      playbooks: [x.yml]\n      waivers:\n        - {host: h1, justification: j, expires: soon}\n",
            ":12:",
            "date",
        ),
        ("      aws:\n        s3_buckets:\n          - {name: b, versioning: maybe}\n", ":12:", "versioning"),
        ("      aws:\n        security_groups:\n          - {id: sg-1, ingress: [{port: 22}]}\n", ":12:", "ingress"),
        ("      aws:\n        iam_password_policy: {minimum_password_length: 2}\n", ":11:", "minimum_password_length"),
        ("      aws:\n        estate_tag: novalue\n", ":11:", "estate_tag"),
        ("      playbooks: [x.yml]\n      colour: blue\n", ":11:", "colour"),
    ],
)
def test_bad_drift_blocks_are_located(tmp_path: Path, block: str, where: str, words: str) -> None:
    with pytest.raises(CatalogueError) as err:
        load(tmp_path, block)
    text = str(err.value)
    assert "d.yml" + where in text and words in text, text


def test_valid_block_reads_into_settings(tmp_path: Path) -> None:
    cat = load(
        tmp_path,
        """      playbooks: [playbooks/drift-app.yml]
      aws:
        estate_tag: maintctl:estate=lab
        unmanaged: true
        s3_buckets:
          - {name: logs, versioning: enabled, encryption: AES256, public_access_block: {block_public_acls: true}}
        security_groups:
          - name: web
            ingress:
              - {protocol: tcp, port: 443, cidrs: [0.0.0.0/0, "::/0"]}
      waivers:
        - {id: W-1, resource: "s3://logs", check: versioning, justification: j, expires: 2030-01-01}
""",
    )
    item = cat.items[0]  # type: ignore[attr-defined]
    s = parse(item.id, item.settings)
    assert s.playbooks == ("playbooks/drift-app.yml",) and s.estate_tag == ("maintctl:estate", "lab")
    assert s.aws is not None and s.aws.unmanaged
    assert s.aws.buckets[0].versioning is True and s.aws.buckets[0].public_access_block == {"BlockPublicAcls": True}
    assert len(s.aws.security_groups[0].ingress) == 2
    assert s.waivers[0].expires == date(2030, 1, 1) and s.waivers[0].resource == "s3://logs"


def test_ingress_rules_normalise() -> None:
    rules = ingress_rules([{"protocol": "-1", "cidr": "10.0.0.0/8"}, {"from_port": 80, "to_port": 81, "group": "sg-1"}])
    assert rules == {
        Rule(protocol="all", from_port=-1, to_port=-1, source="10.0.0.0/8"),
        Rule(protocol="tcp", from_port=80, to_port=81, source="sg-1"),
    }
    assert str(Rule(protocol="tcp", from_port=80, to_port=81, source="sg-1")) == "tcp 80-81 from sg-1"

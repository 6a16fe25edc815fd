"""DNS-01 in Route 53, against a moto server: records appear for present() and go for cleanup().
(moto answers the Route 53 API but serves no DNS, so a CA cannot validate through it; the CA side of
DNS-01 is covered with pebble + challtestsrv in test_issue.py.)"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from runner.adapters.acme_client import ChallengeTask
from runner.errors import AdapterError, UsageError
from runner.kinds.certificate import config
from runner.kinds.certificate.dns import Route53Solver, dns_solver
from runner.kinds.certificate.issue import ChallTestSrvSolver

TOKEN = "tok"  # noqa: S105 - an ACME challenge token: public by design


@pytest.fixture()
def r53(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    return boto3.client("route53", endpoint_url=moto_url, region_name="us-east-1")


def _txt(r53: Any, zone: str) -> dict[str, list[str]]:
    sets = r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    return {s["Name"]: sorted(r["Value"] for r in s["ResourceRecords"]) for s in sets if s["Type"] == "TXT"}


def test_present_and_cleanup_in_the_longest_matching_zone(r53: Any) -> None:
    outer = r53.create_hosted_zone(Name="example.org", CallerReference="a")["HostedZone"]["Id"].split("/")[-1]
    inner = r53.create_hosted_zone(Name="shop.example.org", CallerReference="b")["HostedZone"]["Id"].split("/")[-1]
    tasks = [ChallengeTask(type="dns-01", domain=d, token=TOKEN, content=v, record_name=f"_acme-challenge.{r}")
             for d, v, r in (("shop.example.org", "v1", "shop.example.org"),
                             ("*.shop.example.org", "v2", "shop.example.org"),
                             ("www.example.org", "v3", "www.example.org"))]
    solver = Route53Solver(r53)
    solver.present(tasks)
    assert _txt(r53, inner) == {"_acme-challenge.shop.example.org.": ['"v1"', '"v2"']}
    assert _txt(r53, outer) == {"_acme-challenge.www.example.org.": ['"v3"']}
    solver.cleanup(tasks)
    assert _txt(r53, inner) == {} and _txt(r53, outer) == {}


def test_no_zone_is_a_clear_error(r53: Any) -> None:
    task = ChallengeTask(type="dns-01", domain="x.nowhere.test", token=TOKEN, content="v",
                         record_name="_acme-challenge.x.nowhere.test")
    with pytest.raises(AdapterError, match="no public hosted zone for _acme-challenge.x.nowhere.test"):
        Route53Solver(r53).present([task])


def test_settings_choose_the_solver(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    r53 = config.parse({"acme": {"directory": "https://ca/dir", "challenge": "dns-01", "dns_provider": "route53"}})
    assert r53.acme is not None
    assert isinstance(dns_solver(r53.acme, {"endpoint_url": moto_url}), Route53Solver)
    cts = config.parse({"acme": {"directory": "https://ca/dir", "challenge": "dns-01", "dns_api": "http://d:8055"}})
    assert cts.acme is not None and isinstance(dns_solver(cts.acme, {}), ChallTestSrvSolver)
    with pytest.raises(UsageError, match="dns_api is required"):
        config.parse({"acme": {"directory": "https://ca/dir", "challenge": "dns-01"}})

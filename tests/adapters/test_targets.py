"""Target resolution: inventory groups and patterns in order, plus EC2 instances by tag (moto server)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from runner.catalogue.model import Inventory, Targets
from runner.engine.targets import inventory_hosts, resolve
from runner.errors import UsageError

INV = Inventory(groups={"web": ("web1", "web2"), "db": ("db1",), "lab": ("web1", "web2", "db1")})


def test_groups_then_patterns_in_order_without_duplicates() -> None:
    assert inventory_hosts(INV, Targets(groups=("db", "web"))) == ["db1", "web1", "web2"]
    assert inventory_hosts(INV, Targets(groups=("web",), hosts=("db*", "web1"))) == ["web1", "web2", "db1"]
    assert inventory_hosts(INV, Targets(groups=("all",))) == ["web1", "web2", "db1"]
    with pytest.raises(UsageError, match="no inventory group 'cache'"):
        inventory_hosts(INV, Targets(groups=("cache",)), "x")
    with pytest.raises(UsageError, match="matches no inventory host"):
        inventory_hosts(INV, Targets(hosts=("mail*",)), "x")


def test_aws_tags_resolve_to_an_extra_inventory(moto_endpoint: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from runner.adapters.aws import AwsSessions

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    settings = {"endpoint_url": moto_endpoint, "region": "eu-west-1", "hostvars": {"ansible_user": "admin"}}
    ec2 = AwsSessions.from_settings(settings).client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    made = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "maint", "Value": "batch-a"}]}])
    ids = sorted(i["InstanceId"] for i in made["Instances"])
    got = resolve(INV, Targets(groups=("db",), aws_tags={"maint": "batch-a"}), item_id="x", aws_settings=settings,
                  run_dir=tmp_path / "run")
    assert list(got.hosts) == ["db1", *ids]
    assert got.extra_inventory is not None
    assert stat.S_IMODE(got.extra_inventory.stat().st_mode) == 0o600
    inv = json.loads(got.extra_inventory.read_text())
    hosts = inv["all"]["children"]["maintctl_aws"]["hosts"]
    assert sorted(hosts) == ids and hosts[ids[0]]["ansible_user"] == "admin"
    assert hosts[ids[0]]["ansible_host"] == got.hostvars[ids[0]]["ansible_host"]
    with pytest.raises(UsageError, match="no hosts"):
        resolve(Inventory(), Targets(aws_tags={"maint": "none"}), item_id="x", aws_settings=settings,
                run_dir=tmp_path / "r2")

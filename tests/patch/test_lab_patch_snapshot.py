"""Pre-patch protection by EBS snapshot, end to end through the real CLI: the lab's hosts stand for EC2
instances made in the lab's moto server (their inventory carries the instance ids), and the patch run
snapshots every volume of each instance before patching it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_lab_patch import _estate, _installed, _maintctl, _version

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTS = ("web1", "web2", "db1")
ONLY_TOOL = {"package_manager": "apt", "approve": "none", "include": ["lab-tool"]}


@pytest.fixture()
def made(lab_env: Any) -> Iterator[list[str]]:
    """Instance ids a test made in the lab's (shared) moto: removed afterwards with their volumes and snapshots."""
    import boto3
    import botocore.exceptions

    ids: list[str] = []
    yield ids
    if ids:
        ec2 = boto3.client("ec2")
        vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": ids}])["Volumes"]
        for vol in vols:
            for snap in _snapshots(ec2, vol["VolumeId"]):
                ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])
        ec2.terminate_instances(InstanceIds=ids)
        for vol in vols:
            try:
                ec2.delete_volume(VolumeId=vol["VolumeId"])
            except botocore.exceptions.ClientError:
                pass  # a root volume goes with its instance


@pytest.fixture()
def ec2(made: list[str]) -> Any:
    import boto3

    return boto3.client("ec2")


def _instances(ec2: Any, made: list[str], count: int, *, address: str = "",
               tags: dict[str, str] | None = None) -> list[str]:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    extra: dict[str, Any] = {"PrivateIpAddress": address} if address else {}
    if tags:
        extra["TagSpecifications"] = [{"ResourceType": "instance",
                                       "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    run = ec2.run_instances(ImageId=image, MinCount=count, MaxCount=count, InstanceType="t3.micro", **extra)
    ids = [str(i["InstanceId"]) for i in run["Instances"]]
    made.extend(ids)
    return ids


def _volume_of(ec2: Any, instance_id: str) -> str:
    """The instance's root volume (run_instances gives each instance one, at /dev/sda1)."""
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])["Volumes"]
    assert [v["Attachments"][0]["Device"] for v in vols] == ["/dev/sda1"], vols
    return str(vols[0]["VolumeId"])


def _attach_data_volume(ec2: Any, instance_id: str, device: str) -> str:
    [reservation] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    zone = reservation["Instances"][0]["Placement"]["AvailabilityZone"]
    vid = str(ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"])
    ec2.attach_volume(VolumeId=vid, InstanceId=instance_id, Device=device)
    return vid


def _snapshots(ec2: Any, volume_id: str) -> list[dict[str, Any]]:
    out = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume_id]}])["Snapshots"]
    return sorted(out, key=lambda s: s["StartTime"])


def _tags(snap: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in snap.get("Tags", [])}


def _with_instance_ids(estate: Path, ids: dict[str, str], *, host_vars_file: str = "") -> None:
    """Give hosts the hostvar instance_id: inline in the inventory, or (for ``host_vars_file``) in
    inventory/host_vars/HOST.yml, which only Ansible's own inventory reading sees."""
    path = estate / "inventory" / "hosts.yml"
    inv = yaml.safe_load(path.read_text())
    lab_hosts = inv["all"]["children"]["lab"]["hosts"]
    for host, iid in ids.items():
        if host == host_vars_file:
            (estate / "inventory" / "host_vars").mkdir(exist_ok=True)
            (estate / "inventory" / "host_vars" / f"{host}.yml").write_text(json.dumps({"instance_id": iid}))
        else:
            lab_hosts[host]["instance_id"] = iid
    path.write_text(json.dumps(inv))


def _protect_records(estate: Path) -> dict[str, dict[str, Any]]:
    """Host -> its ``patch.protect`` evidence, as a reviewer reads it with ``maintctl evidence show``."""
    [bundle] = json.loads(_maintctl(estate, "evidence", "list", "--json", check=True).stdout)
    shown = json.loads(_maintctl(estate, "evidence", "show", bundle["id"], "--json", check=True).stdout)
    records = [r["payload"]["data"] for r in shown if r.get("payload", {}).get("event") == "patch.protect"]
    return {r["host"]: r for r in records}


def test_every_volume_snapshotted_before_its_host_is_patched(
    lab_env: Any, ec2: Any, made: list[str], tmp_path: Path
) -> None:
    v = _version()
    lab_env.publish("lab-tool", v)
    ids = dict(zip(HOSTS, _instances(ec2, made, 3), strict=True))
    vols = {h: {"/dev/sda1": _volume_of(ec2, iid)} for h, iid in ids.items()}
    vols["db1"]["/dev/sdf"] = _attach_data_volume(ec2, ids["db1"], "/dev/sdf")
    # An older pre-patch snapshot of this item (keep: 1 deletes it) and one of another item (kept).
    web2 = vols["web2"]["/dev/sda1"]
    old = ec2.create_snapshot(VolumeId=web2, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "maintctl:item", "Value": "patch-lab"}, {"Key": "maintctl:purpose", "Value": "pre-patch"}]}])
    other = ec2.create_snapshot(VolumeId=web2, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "maintctl:item", "Value": "patch-elsewhere"}, {"Key": "maintctl:purpose", "Value": "pre-patch"}]}])
    item = {"targets": {"groups": ["web", "db"]}, "rollout": {"batch_size": 2, "max_errors": 0},
            "patch": {"baseline": "lab", "reboot": "never", "pre_patch": {"aws_snapshot": {"keep": 1}}}}
    estate = _estate(tmp_path, lab_env, baseline=ONLY_TOOL, item=item)
    _with_instance_ids(estate, ids, host_vars_file="db1")

    run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test", "--json")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [e["hosts"] for e in events if e.get("event") == "batch.started"] == [["web1", "web2"], ["db1"]]
    run_id = next(e["run_id"] for e in events if e.get("event") == "run.started")

    records = _protect_records(estate)
    assert set(records) == set(HOSTS)
    for host in HOSTS:
        assert _installed(lab_env, host, "lab-tool") == v, f"{host} was not patched"
        evidence = records[host]
        assert evidence["ok"] is True and evidence["message"] == ""
        shot = evidence["aws_snapshot"]
        assert shot["instance_id"] == ids[host] and shot["region"] == "us-east-1"
        taken = []
        for device, vid in vols[host].items():
            [snap] = [s for s in _snapshots(ec2, vid) if _tags(s).get("maintctl:item") == "patch-lab"]
            assert snap["State"] == "completed"
            assert _tags(snap) == {"maintctl:item": "patch-lab", "maintctl:run": run_id, "maintctl:host": host,
                                   "maintctl:purpose": "pre-patch", "maintctl:instance": ids[host],
                                   "maintctl:device": device}
            taken.append((snap["SnapshotId"], vid, device, "completed"))
        assert [(s["snapshot_id"], s["volume_id"], s["device"], s["state"]) for s in shot["snapshots"]] == taken
    assert records["web2"]["aws_snapshot"]["pruned"] == [old["SnapshotId"]]
    assert other["SnapshotId"] in {s["SnapshotId"] for s in _snapshots(ec2, web2)}
    _maintctl(estate, "evidence", "verify", check=True)


def test_a_host_that_cannot_be_snapshotted_is_not_patched(
    lab_env: Any, ec2: Any, made: list[str], tmp_path: Path
) -> None:
    """web2's instance id names no instance and db1 has none: neither is patched, both are reported.
    web1 comes from AWS tags (an instance at web1's address), so its instance id needs no hostvar."""
    v = _version()
    lab_env.publish("lab-tool", v)
    mark = uuid.uuid4().hex[:12]
    [web1] = _instances(ec2, made, 1, address=lab_env.address("web1"), tags={"maintctl-test": mark})
    volume = _volume_of(ec2, web1)
    nowhere = f"i-{uuid.uuid4().hex[:17]}"  # well formed, but no such instance: it has no volumes
    item = {"targets": {"hosts": ["web2", "db1"], "aws_tags": {"maintctl-test": mark}},
            "rollout": {"batch_size": 3, "max_errors": 2},
            "patch": {"baseline": "lab", "reboot": "never", "pre_patch": {"aws_snapshot": {}}}}  # every default
    estate = _estate(tmp_path, lab_env, baseline=ONLY_TOOL, item=item)
    _with_instance_ids(estate, {"web2": nowhere})  # db1: none
    _reach_aws_hosts_like_the_lab(estate)
    before = {h: _installed(lab_env, h, "lab-tool") for h in ("web2", "db1")}

    run = _maintctl(estate, "run", "patch-lab", "--force", "--reason", "lab test")
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr
    assert "db1: failed - pre-patch protection failed: no EC2 instance id (hostvar instance_id)" in run.stdout
    assert (f"web2: failed - pre-patch protection failed: no EBS volume attached to EC2 instance {nowhere} "
            "(region us-east-1)") in run.stdout
    for host in ("web2", "db1"):
        assert _installed(lab_env, host, "lab-tool") == before[host], f"{host} was patched unprotected"
    assert _installed(lab_env, "web1", "lab-tool") == v
    [snap] = _snapshots(ec2, volume)
    assert (_tags(snap)["maintctl:host"], _tags(snap)["maintctl:instance"]) == (web1, web1)
    records = _protect_records(estate)
    assert {h: r["ok"] for h, r in records.items()} == {web1: True, "web2": False, "db1": False}
    assert [s["snapshot_id"] for s in records[web1]["aws_snapshot"]["snapshots"]] == [snap["SnapshotId"]]
    assert "aws_snapshot" not in records["db1"]


def _reach_aws_hosts_like_the_lab(estate: Path) -> None:
    """Hosts resolved from AWS tags get the lab inventory's connection variables (settings.aws.hostvars)."""
    inv = yaml.safe_load((estate / "inventory" / "hosts.yml").read_text())
    path = estate / "maintenance" / "main.yml"
    doc = json.loads(path.read_text())
    doc["settings"]["aws"] = {"hostvars": dict(inv["all"]["vars"])}
    path.write_text(json.dumps(doc))

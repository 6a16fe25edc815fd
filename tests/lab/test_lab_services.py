"""The lab's services: TLS on web hosts, PostgreSQL on db1, moto for AWS, pebble for ACME."""
from __future__ import annotations

import base64
import datetime as dt
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import psycopg
import pytest
from acme import challenges, client, crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy.jwk import JWKRSA
from labkit.handle import Lab

pytestmark = pytest.mark.lab


def served_cert(address: str, sni: str, cafile: str) -> bytes:
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((address, 443), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=sni) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der
    return der


def test_web_hosts_serve_tls_from_their_own_files(lab: Lab) -> None:
    ca = lab.info["tls"]["ca_cert"]
    for host in lab.group("web"):
        der = served_cert(lab.address(host), f"{host}.lab", ca)
        on_disk = lab.ssh(host, "openssl x509 -in /etc/ssl/lab/server.crt -outform DER | base64 -w0").stdout
        assert base64.b64decode(on_disk) == der
        cert = x509.load_der_x509_certificate(der)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"{host}.lab" in names.get_values_for_type(x509.DNSName)


def test_postgres_on_db1_has_the_seeded_database(lab: Lab) -> None:
    pg = lab.info["postgres"]
    password = Path(pg["password_file"]).read_text().strip()
    with psycopg.connect(host=pg["address"], port=pg["port"], dbname=pg["database"], user=pg["user"],
                         password=password, connect_timeout=10) as conn:
        row = conn.execute("SELECT count(*), sum(qty) FROM items").fetchone()
    assert row is not None and row[0] == pg["rows"] == 1000
    assert lab.ssh("web1", "test -d /var/lib/postgresql/15/main", check=False).returncode == 1


def test_boto3_reaches_moto_from_the_machine_and_hosts_reach_it_too(lab: Lab) -> None:
    aws = lab.info["aws"]
    kw = {"endpoint_url": aws["endpoint_url"], "region_name": aws["region"],
          "aws_access_key_id": aws["access_key_id"], "aws_secret_access_key": aws["secret_access_key"]}
    s3 = boto3.client("s3", **kw)
    bucket = f"lab-test-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"from the machine")
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"from the machine"
    assert boto3.client("sts", **kw).get_caller_identity()["Account"]
    assert boto3.client("ec2", **kw).describe_regions()["Regions"]
    for service in ("rds", "acm", "cloudwatch"):
        boto3.client(service, **kw)  # endpoints exist; each area's own tests exercise them
    listing = lab.ssh("db1", f"curl -sf {aws['endpoint_url']}/{bucket}").stdout
    assert "hello.txt" in listing
    s3.delete_object(Bucket=bucket, Key="hello.txt")
    s3.delete_bucket(Bucket=bucket)


def _acme_client(lab: Lab) -> tuple[client.ClientV2, JWKRSA]:
    acme_info = lab.info["acme"]
    key = JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    net = client.ClientNetwork(key, user_agent="maintctl-lab-test", verify_ssl=acme_info["api_ca_cert"])
    directory = client.ClientV2.get_directory(acme_info["directory_url"], net)
    acme = client.ClientV2(directory, net=net)
    acme.new_account(messages.NewRegistration.from_data(email="lab@example.org", terms_of_service_agreed=True))
    return acme, key


def test_pebble_issues_a_certificate_for_a_lab_host_over_http01(lab: Lab, tmp_path: Path) -> None:
    host, name = "web2", "web2.lab"
    acme, account_key = _acme_client(lab)
    pkey = ec.generate_private_key(ec.SECP256R1())
    pkey_pem = pkey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    order = acme.new_order(crypto_util.make_csr(pkey_pem, [name]))
    webroot = lab.info["tls"]["webroot_acme"]
    for authz in order.authorizations:
        chall = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = chall.response_and_validation(account_key)
        lab.ssh(host, f"cat > {webroot}{chall.chall.path}", input=validation)
        acme.answer_challenge(chall, response)
    done = acme.poll_and_finalize(order, deadline=dt.datetime.now() + dt.timedelta(seconds=60))
    chain = tmp_path / "fullchain.pem"
    chain.write_text(done.fullchain_pem)
    leaf = x509.load_pem_x509_certificate(done.fullchain_pem.encode())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [name]
    verify = subprocess.run(["openssl", "verify", "-CAfile", lab.info["acme"]["root_cert"],
                             "-untrusted", str(chain), str(chain)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # nginx on the host serves it after a reload; then the lab's own certificate is put back.
    backup = "cp /etc/ssl/lab/server.crt /tmp/crt.bak && cp /etc/ssl/lab/server.key /tmp/key.bak"
    lab.ssh(host, backup)
    try:
        lab.ssh(host, "cat > /etc/ssl/lab/server.crt", input=done.fullchain_pem)
        lab.ssh(host, "umask 077; cat > /etc/ssl/lab/server.key", input=pkey_pem.decode())
        lab.ssh(host, "service nginx reload")
        want = leaf.public_bytes(serialization.Encoding.DER)
        assert _served_eventually(lab.address(host), name, want) == want
        # The full chain verifies against pebble's root with the host name checked.
        assert served_cert(lab.address(host), name, lab.info["acme"]["root_cert"]) == want
    finally:
        lab.ssh(host, "cp /tmp/crt.bak /etc/ssl/lab/server.crt && cp /tmp/key.bak /etc/ssl/lab/server.key"
                      " && service nginx reload")


def _served_eventually(address: str, sni: str, want: bytes) -> bytes:
    """What the endpoint serves once nginx's reload has taken effect (reload is asynchronous)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 15
    der: bytes | None = b""
    while time.monotonic() < deadline:
        with socket.create_connection((address, 443), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
        if der == want:
            return der
        time.sleep(0.2)
    return der or b""


def test_lab_dns_resolves_host_names(lab: Lab) -> None:
    out = lab.ssh("web1", "getent hosts db1.lab web2").stdout
    assert lab.address("db1") in out and lab.address("web2") in out

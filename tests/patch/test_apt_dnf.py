from __future__ import annotations

from datetime import UTC, datetime

from runner.kinds.patch import apt, dnf

SIM = """Reading package lists...
Inst libssl3 [3.0.19-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])
Inst lab-tool [1.0] (1.1 lab:lab/lab [all])
Inst lab-new (2.0 lab:lab/lab, lab:lab-security/lab-security [all])
Conf libssl3 (3.0.22-1~deb12u2 Debian-Security:12/oldstable-security [amd64])
"""


def test_parse_simulation() -> None:
    ups = apt.parse_simulation(SIM)
    assert [u.name for u in ups] == ["libssl3", "lab-tool", "lab-new"]
    assert ups[0].installed == "3.0.19-1~deb12u2" and ups[0].candidate == "3.0.22-1~deb12u2"
    assert ups[0].security and not ups[1].security and ups[2].security
    assert ups[2].is_new_install and ups[2].origins == ("lab:lab/lab", "lab:lab-security/lab-security")
    assert ups[1].arch == "all"


def test_install_command_pins_versions_and_quotes() -> None:
    cmd = apt.install_command([("lab-tool", "1.1"), ("x;rm", "1")])
    assert "lab-tool=1.1" in cmd and "'x;rm=1'" in cmd and "--only-upgrade" in cmd
    assert apt.install_command([]) == "true"


def test_parse_installed() -> None:
    assert apt.parse_installed("a\t1.0\nb\t2:3-1\n\n") == {"a": "1.0", "b": "2:3-1"}


CHECK_UPDATE = """
openssl.x86_64                     1:3.0.7-27.el9          baseos
kernel.x86_64                      5.14.0-427.el9          baseos
Obsoleting Packages
"""

UPDATEINFO = """===============================================================================
  Important: openssl security update
===============================================================================
  Update ID: RHSA-2024:1234
       Type: security
     Issued: 2024-03-01 00:00:00
      Files: openssl-3.0.7-27.el9.x86_64.rpm
           : openssl-libs-3.0.7-27.el9.x86_64.rpm

===============================================================================
  kernel bug fix
===============================================================================
  Update ID: RHBA-2024:9
       Type: bugfix
     Issued: 2024-03-05
      Files: kernel-5.14.0-427.el9.x86_64.rpm
"""


def test_dnf_scan_merge() -> None:
    ups = dnf.parse_check_update(CHECK_UPDATE, {"openssl": "1:3.0.7-24.el9"})
    assert [(u.name, u.candidate) for u in ups] == [("openssl", "1:3.0.7-27.el9"), ("kernel", "5.14.0-427.el9")]
    info = dnf.parse_updateinfo(UPDATEINFO)
    assert info["openssl"][0] == "security"
    assert info["openssl-libs"][0] == "security"
    assert info["kernel"] == ("bugfix", datetime(2024, 3, 5, tzinfo=UTC))
    merged = dnf.merge_advisories(ups, info)
    assert merged[0].security and merged[0].published == datetime(2024, 3, 1, tzinfo=UTC)
    assert not merged[1].security and merged[0].installed == "1:3.0.7-24.el9"


def test_dnf_commands() -> None:
    assert dnf.install_command([("openssl", "1:3.0.7-27.el9")]) == "dnf -q -y upgrade openssl-1:3.0.7-27.el9"
    assert "versionlock add kernel" in dnf.hold_command(["kernel"])
    check, info = dnf.scan_commands()
    assert "check-update" in check and "updateinfo" in info

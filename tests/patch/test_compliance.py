from __future__ import annotations

from runner.kinds.patch.baseline import Decision
from runner.kinds.patch.compliance import assess
from runner.kinds.patch.updates import Update


def d(name: str, approved: bool = True) -> Decision:
    return Decision(update=Update(name=name, installed="1.0", candidate="1.1"), approved=approved,
                    reason="approved update" if approved else "not a security update")


def test_compliant_after_install() -> None:
    c = assess("web1", [d("a"), d("b", False)], before={"a": "1.0"}, after={"a": "1.1"},
               install_failed=False, pending_reboot=False)
    assert c.state == "compliant"
    assert [x.name for x in c.installed] == ["a"] and c.installed[0].before == "1.0"
    assert c.not_approved == (("b", "1.1", "not a security update"),)


def test_pending_reboot_and_missing_and_failed() -> None:
    assert assess("h", [d("a")], before={}, after={"a": "1.1"}, install_failed=False,
                  pending_reboot=True).state == "pending_reboot"
    c = assess("h", [d("a")], before={}, after={"a": "1.0"}, install_failed=False, pending_reboot=False)
    assert c.state == "non_compliant" and c.missing[0].after == "1.0"
    assert assess("h", [d("a")], before={}, after={}, install_failed=True, pending_reboot=False).state == "failed"
    assert c.as_dict()["missing"][0] == {"name": "a", "before": "1.0", "after": "1.0", "approved": "1.1"}

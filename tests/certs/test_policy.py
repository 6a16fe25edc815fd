"""Renewal policy as a table: certificate lifetime, clock, ARI window, freeze -> decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runner.kinds.certificate.model import CertInfo
from runner.kinds.certificate.policy import AriWindow, RenewPolicy, ari_instant, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cert(days: float, start: datetime = T0) -> CertInfo:
    return CertInfo(subject="CN=x", sans=("x",), issuer="CN=ca", serial="1", not_before=start,
                    not_after=start + timedelta(days=days), sha256="00", key_type="EC-secp256r1",
                    self_signed=False)


D = timedelta(days=1)

# (lifetime days, now offset days, policy, ari (start, end) offsets in days, freeze, expected action, urgent,
#  overridden)
CASES = [
    # 90-day cert, default 1/3: due after day 60
    (90, 59, RenewPolicy(), None, None, "wait", False, False),
    (90, 61, RenewPolicy(), None, None, "renew", False, False),
    # fixed days replace the default fraction: 30 days left on a 365-day cert
    (365, 330, RenewPolicy(days=30), None, None, "wait", False, False),
    (365, 336, RenewPolicy(days=30), None, None, "renew", False, False),
    # both set: whichever comes first (1/2 of 365 -> day 182.5)
    (365, 183, RenewPolicy(days=30, fraction=0.5), None, None, "renew", False, False),
    # short-lived (6 days): fraction 1/3 -> due after day 4; emergency below 2 days
    (6, 3.9, RenewPolicy(emergency_days=1), None, None, "wait", False, False),
    (6, 4.5, RenewPolicy(emergency_days=1), None, None, "renew", False, False),
    (6, 5.5, RenewPolicy(emergency_days=1), None, None, "renew", True, False),
    # expired certificates are urgent
    (90, 91, RenewPolicy(), None, None, "renew", True, False),
    # freeze: non-urgent blocked, urgent passes and says so
    (90, 61, RenewPolicy(), None, "year-end", "blocked", False, False),
    (90, 89, RenewPolicy(emergency_days=2), None, "year-end", "renew", True, True),
    (90, 30, RenewPolicy(), None, "year-end", "wait", False, False),
    # emergency threshold alone makes it due (emergency_days larger than the fraction's share)
    (10, 2, RenewPolicy(emergency_days=9), None, "f", "renew", True, True),
    # ARI: window days 40..50 is earlier than the 1/3 rule (day 60); renew once it has opened
    (90, 39, RenewPolicy(), (40, 50), None, "wait", False, False),
    (90, 41, RenewPolicy(), (40, 50), None, "renew", False, False),
    # ARI window later than the 1/3 rule: the lifetime rule still applies
    (90, 61, RenewPolicy(), (70, 75), None, "renew", False, False),
    (90, 46, RenewPolicy(use_ari=False), (40, 50), None, "wait", False, False),
    # ARI window entirely in the past (CA wants it replaced now): urgent, passes a freeze
    (90, 20, RenewPolicy(), (10, 12), "f", "renew", True, True),
    # ARI window inside a freeze but not urgent: blocked
    (90, 46, RenewPolicy(), (40, 50), "f", "blocked", False, False),
]


@pytest.mark.parametrize(("life", "at", "policy", "ari", "freeze", "action", "urgent", "overridden"), CASES)
def test_decision_table(life: float, at: float, policy: RenewPolicy, ari: tuple[float, float] | None,
                        freeze: str | None, action: str, urgent: bool, overridden: bool) -> None:
    window = AriWindow(start=T0 + ari[0] * D, end=T0 + ari[1] * D) if ari else None
    d = decide(cert(life), policy, T0 + at * D, ari=window, jitter=0.5, freeze=freeze)
    assert (d.action, d.urgent, d.freeze_overridden) == (action, urgent, overridden), d.reasons
    if overridden:
        assert any("overrides freeze" in r for r in d.reasons) and d.freeze == freeze
    if action == "blocked":
        assert d.freeze == freeze and any("blocked by freeze" in r for r in d.reasons)


def test_wait_says_when() -> None:
    d = decide(cert(90), RenewPolicy(), T0 + 10 * D)
    assert d.action == "wait" and d.renew_at == T0 + 60 * D
    window = AriWindow(start=T0 + 40 * D, end=T0 + 50 * D)
    d = decide(cert(90), RenewPolicy(), T0 + 10 * D, ari=window, jitter=0)
    assert d.renew_at == T0 + 40 * D
    d = decide(cert(90), RenewPolicy(), T0 + 10 * D, ari=window, jitter=0.5)
    assert d.renew_at == T0 + 45 * D  # a random instant in the window, for schedulers


def test_jitter_spreads_inside_window() -> None:
    w = AriWindow(start=T0, end=T0 + 10 * D)
    assert ari_instant(w, 0.0) == T0 and ari_instant(w, 1.0) == T0 + 10 * D
    assert ari_instant(w, 7.0) == T0 + 10 * D  # clamped
    assert ari_instant(w, 0.25) == T0 + timedelta(days=2.5)


@pytest.mark.parametrize("kwargs", [{"fraction": 0}, {"fraction": 1.5}, {"days": -1}, {"emergency_days": -1}])
def test_bad_policy_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RenewPolicy(**kwargs)  # type: ignore[arg-type]

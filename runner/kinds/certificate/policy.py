"""When to renew a certificate: lifetime fraction, fixed days, ACME Renewal Information, freezes.

Pure: the clock (``now``) and the random point inside an ARI window (``jitter``) are parameters.

Rules, in order:
1. A certificate is *due* when less than ``fraction`` of its lifetime remains, or fewer than ``days``
   (or ``emergency_days``) days remain, or (RFC 9773) the CA's suggested renewal window has started.
   maintctl runs inside maintenance windows, so an open ARI window means "renew now"; while it has not
   opened, ``renew_at`` is a random instant inside it (``start + jitter * (end - start)``) so that a
   fleet scheduled on it spreads its renewals as RFC 9773 asks.
   ``fraction`` defaults to one third when ``days`` is not set; set both to use whichever comes first.
2. A due certificate is *urgent* when fewer than ``emergency_days`` remain (or it has expired), or
   when the CA's window has already ended (the CA wants it replaced now, e.g. before a revocation).
3. Inside a freeze, a due certificate that is not urgent is blocked; an urgent one is renewed and the
   decision says that it overrode the freeze, so evidence can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from runner.kinds.certificate.model import CertInfo

Action = Literal["renew", "wait", "blocked"]


@dataclass(frozen=True, kw_only=True)
class RenewPolicy:
    fraction: float | None = None
    days: float | None = None
    emergency_days: float = 2.0
    use_ari: bool = True

    @property
    def effective_fraction(self) -> float | None:
        return self.fraction if self.fraction is not None or self.days is not None else 1 / 3

    def __post_init__(self) -> None:
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise ValueError("renew.fraction must be between 0 and 1")
        if self.days is not None and self.days < 0:
            raise ValueError("renew.days must not be negative")
        if self.emergency_days < 0:
            raise ValueError("renew.emergency_days must not be negative")


@dataclass(frozen=True, kw_only=True)
class AriWindow:
    """A suggested renewal window from the CA (RFC 9773 ``suggestedWindow``), [start, end]."""

    start: datetime
    end: datetime
    explanation_url: str = ""


@dataclass(frozen=True, kw_only=True)
class Decision:
    action: Action
    reasons: tuple[str, ...]
    urgent: bool = False
    freeze: str = ""  # the freeze that blocked or was overridden
    freeze_overridden: bool = False
    renew_at: datetime | None = None  # when renewal becomes due (for "wait")
    days_left: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "reasons": list(self.reasons),
            "urgent": self.urgent,
            "freeze": self.freeze,
            "freeze_overridden": self.freeze_overridden,
            "renew_at": self.renew_at.isoformat() if self.renew_at else None,
            "days_left": round(self.days_left, 3),
        }


def ari_instant(window: AriWindow, jitter: float) -> datetime:
    """The instant chosen inside the window; ``jitter`` in [0, 1] is drawn once per certificate."""
    jitter = min(max(jitter, 0.0), 1.0)
    return window.start + (window.end - window.start) * jitter


def decide(
    cert: CertInfo,
    policy: RenewPolicy,
    now: datetime,
    *,
    ari: AriWindow | None = None,
    jitter: float = 0.5,
    freeze: str | None = None,
) -> Decision:
    """Decide whether to renew ``cert`` at ``now``; ``freeze`` names an active freeze, if any."""
    left = cert.seconds_left(now)
    days_left = left / 86400.0
    lifetime = cert.lifetime_seconds
    reasons: list[str] = []
    due_at = [cert.not_after - timedelta(days=policy.emergency_days)]
    fraction = policy.effective_fraction
    if fraction is not None:
        due_at.append(cert.not_before + timedelta(seconds=lifetime * (1 - fraction)))
        if left < lifetime * fraction:
            reasons.append(f"less than {fraction:.0%} of its lifetime remains")
    if policy.days is not None:
        due_at.append(cert.not_after - timedelta(days=policy.days))
        if days_left < policy.days:
            reasons.append(f"fewer than {policy.days:g} days remain")
    urgent = days_left < policy.emergency_days
    if urgent:
        reasons.append(f"urgent: fewer than {policy.emergency_days:g} days remain")
    if ari is not None and policy.use_ari:
        due_at.append(ari_instant(ari, jitter))
        if now >= ari.start:
            window = f"{ari.start.isoformat()} .. {ari.end.isoformat()}"
            reasons.append(f"the CA's renewal window ({window}) says so")
        if now > ari.end:
            urgent = True
            reasons.append("urgent: the CA's renewal window has passed")
    if left <= 0:
        reasons.insert(0, "expired")
    renew_at = min(due_at)
    if not reasons:
        return Decision(action="wait", reasons=("not due",), renew_at=renew_at, days_left=days_left)
    if freeze and not urgent:
        return Decision(action="blocked", reasons=(*reasons, f"blocked by freeze {freeze!r}"), freeze=freeze,
                        renew_at=renew_at, days_left=days_left)
    if freeze:
        reasons.append(f"overrides freeze {freeze!r}")
    return Decision(action="renew", reasons=tuple(reasons), urgent=urgent, freeze=freeze or "",
                    freeze_overridden=bool(freeze), renew_at=renew_at, days_left=days_left)

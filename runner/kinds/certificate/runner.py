"""The ``certificate`` kind: scan and decide before the first batch, then per batch issue (ACME, key
made on the host), deploy (Ansible), verify over TLS and roll back what does not verify.

Freezes are decided per host here, not only by the engine: a renewal that is not urgent waits for the
freeze to end, an urgent one (below ``renew.emergency_days``, or the CA's renewal window passed)
goes ahead and the evidence says it overrode the freeze.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from runner.engine.kind import HostResult, RunContext, StepResult
from runner.errors import MaintctlError
from runner.kinds.certificate import config, x509info
from runner.kinds.certificate.config import CertSettings
from runner.kinds.certificate.model import ScanResult
from runner.kinds.certificate.policy import Action, AriWindow, Decision, decide
from runner.kinds.certificate.scan import Endpoint, scan_endpoints


@dataclass(kw_only=True)
class HostPlan:
    host: str
    address: str
    names: tuple[str, ...]
    files: dict[str, str]
    endpoint: Endpoint
    scan: ScanResult
    decision: Decision
    freeze: str = ""
    steps: list[StepResult] = field(default_factory=list)


class CertificateRunner:
    """KindRunner for ``kind: certificate`` (see runner.engine.kind)."""

    name = "certificate"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, rng: random.Random | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._rng = rng or random.SystemRandom()
        self.settings: CertSettings | None = None
        self.plans: dict[str, HostPlan] = {}
        self.roots: list[Any] = []
        self._acme: Any = None

    def needs_change_record(self, ctx: RunContext) -> bool:
        """Only when something will change: a certificate to renew now, or ACM to look after."""
        if ctx.mode != "apply":
            return False
        self._prepare(ctx)
        assert self.settings is not None
        return self.settings.acm is not None or any(p.decision.action == "renew" for p in self.plans.values())

    # -- before: scan and decide ------------------------------------------------------------------
    def before(self, ctx: RunContext) -> None:
        """Scan and decide (once per run), and record both for every host."""
        self._prepare(ctx)
        now = self._clock()
        for host, plan in self.plans.items():
            decision = plan.decision
            ctx.evidence.record(ctx.bundle_id, "certificate.scan", {"host": host, **plan.scan.as_dict(now)})
            ctx.evidence.record(ctx.bundle_id, "certificate.decision", {"host": host, **decision.as_dict()})
            if decision.freeze_overridden:
                ctx.evidence.record(ctx.bundle_id, "certificate.freeze_overridden", {
                    "host": host, "freeze": decision.freeze, "reasons": list(decision.reasons),
                    "days_left": round(decision.days_left, 3)})
            ctx.emit("certificate.decision", {"host": host, "action": decision.action})

    def _prepare(self, ctx: RunContext) -> None:
        if self.settings is not None and set(self.plans) >= set(ctx.hosts):
            return
        where = f"{ctx.item.location} item {ctx.item.id}"
        self._estate_root = ctx.estate_root
        self._state_dir = ctx.state_dir
        self.settings = settings = config.parse(ctx.item.settings, where)
        root = Path(ctx.estate_root)
        self.roots = _load_roots(settings.trust_paths(root))
        hostvars = {**ctx.catalogue.inventory.hostvars, **ctx.options.get("hostvars", {})}
        endpoints = []
        for host in ctx.hosts:
            address = config.host_address(hostvars, host)
            names = settings.names_for(host, address)
            endpoints.append(Endpoint(address=config.expand(settings.address, host, address),
                                      port=settings.port, name=names[0], host=host))
        scans = scan_endpoints(endpoints, self.roots)
        now = self._clock()
        for ep, scan in zip(endpoints, scans, strict=True):
            host = ep.host
            address = config.host_address(hostvars, host)
            freeze = self._freeze_for(ctx, host, now)
            decision = self._decide(scan, settings, now, freeze)
            plan = HostPlan(host=host, address=address, names=settings.names_for(host, address),
                            files=settings.files_for(host, address), endpoint=ep, scan=scan,
                            decision=decision, freeze=freeze or "")
            self.plans[host] = plan

    def _decide(self, scan: ScanResult, settings: CertSettings, now: datetime, freeze: str | None) -> Decision:
        if scan.cert is None:
            reasons = (f"no certificate could be read: {scan.error}",)
            if freeze:
                return Decision(action="blocked", reasons=(*reasons, f"blocked by freeze {freeze!r}"),
                                freeze=freeze)
            return Decision(action="renew", reasons=reasons)
        ari = self._ari_window(scan, settings)
        decision = decide(scan.cert, settings.renew, now, ari=ari, jitter=self._rng.random(), freeze=freeze)
        problems = []
        if scan.name_match is False:
            problems.append("the served certificate does not cover the expected name")
        if scan.chain_valid is False and scan.cert.seconds_left(now) > 0:
            problems.append(f"the served chain is invalid ({scan.chain_error})")
        if problems and decision.action == "wait":
            action: Action = "blocked" if freeze else "renew"
            extra = (f"blocked by freeze {freeze!r}",) if freeze else ()
            return Decision(action=action, reasons=(*problems, *extra), freeze=freeze or "",
                            days_left=decision.days_left, renew_at=now)
        return decision

    def _ari_window(self, scan: ScanResult, settings: CertSettings) -> AriWindow | None:
        if not (settings.renew.use_ari and settings.acme and scan.cert and scan.cert.ari_id):
            return None
        acme = self._acme_client()
        if acme is None or not acme.offers_renewal_info:
            return None
        got = acme.renewal_info(scan.cert.ari_id)
        return AriWindow(start=got[0], end=got[1], explanation_url=got[2]) if got else None

    def _freeze_for(self, ctx: RunContext, host: str, now: datetime) -> str | None:
        """The name of a freeze covering ``host`` now (``ctx.options['freeze']`` forces one)."""
        forced = ctx.options.get("freeze")
        if forced:
            return str(forced)
        from runner.schedule.freeze import applies_to, freeze_intervals

        groups = [g for g, members in ctx.catalogue.inventory.groups.items() if host in members]
        for fr in ctx.catalogue.freezes:
            if applies_to(fr, groups) and freeze_intervals(fr, now, now + timedelta(seconds=1)):
                return fr.name
        return None

    def _acme_client(self) -> Any:
        if self._acme is None and self.settings and self.settings.acme:
            from runner.adapters.acme_client import AcmeClient, account_dir, load_or_create_account_key

            acme = self.settings.acme
            root = Path(self._estate_root)
            key = load_or_create_account_key(account_dir(Path(self._state_dir), acme.directory))
            self._acme = AcmeClient(acme.directory, key, ca_bundle=config.resolve_path(root, acme.ca_bundle),
                                    email=acme.email)
        return self._acme

    _estate_root = "."
    _state_dir = ".maintctl"

    # -- batches -------------------------------------------------------------------------------------
    def run_batch(self, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
        from runner.kinds.certificate.batch import run_batch

        return run_batch(self, ctx, hosts)

    # -- after ---------------------------------------------------------------------------------------
    def after(self, ctx: RunContext, results: Sequence[HostResult]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in results:
            counts[r.status] = counts.get(r.status, 0) + 1
        renewed = [r.host for r in results if r.data.get("renewed")]
        summary: dict[str, Any] = {
            "hosts": counts,
            "renewed": renewed,
            "blocked_by_freeze": [h for h, p in self.plans.items() if p.decision.action == "blocked"],
            "freeze_overridden": [h for h, p in self.plans.items() if p.decision.freeze_overridden],
            "rolled_back": [r.host for r in results if r.data.get("rolled_back")],
        }
        if self.settings and self.settings.acm:
            from runner.kinds.certificate.acm import acm_step

            summary["acm"] = acm_step(ctx, self.settings, self.roots, self._clock(), self._rng)
        ctx.evidence.record(ctx.bundle_id, "certificate.summary", summary)
        return summary


def _load_roots(paths: Sequence[Path]) -> list[Any]:
    bundles = []
    for p in paths:
        try:
            bundles.append(p.read_bytes())
        except OSError as exc:
            raise MaintctlError(f"{p}: cannot read trust roots: {exc.strerror}") from exc
    try:
        return x509info.load_trust_roots(bundles)
    except x509info.CertParseError as exc:
        raise MaintctlError(f"trust roots: {exc}") from exc

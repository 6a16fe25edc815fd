"""One batch of the certificate kind: issue per host, deploy together, verify, roll back failures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runner.engine.kind import HostResult, HostStatus, RunContext, StepResult
from runner.errors import MaintctlError
from runner.kinds.certificate import x509info
from runner.kinds.certificate.config import CertSettings
from runner.kinds.certificate.deploy import PLAYBOOK, host_payload, rollback_payload
from runner.kinds.certificate.dns import dns_solver
from runner.kinds.certificate.issue import (
    IssueRequest,
    NewCertificate,
    WebrootSolver,
    issue_on_target,
)
from runner.kinds.certificate.remote import run_shell, shell_for
from runner.kinds.certificate.verify import verify_served

# The last task of cert-deploy.yml's rescue: reaching it means the previous files were put back.
RESCUED_TASK = "Fail after restoring"

if TYPE_CHECKING:
    from runner.kinds.certificate.runner import CertificateRunner, HostPlan


def _now() -> datetime:
    return datetime.now(UTC)


def _step(plan: HostPlan, name: str, status: HostStatus, started: datetime, message: str = "",
          **data: Any) -> StepResult:
    step = StepResult(name=name, status=status, started=started, finished=_now(), message=message, data=data)
    plan.steps.append(step)
    return step


def _result(plan: HostPlan, status: HostStatus, message: str, **data: Any) -> HostResult:
    return HostResult(host=plan.host, status=status, steps=list(plan.steps), message=message,
                      data={"decision": plan.decision.as_dict(), **data})


def run_batch(kind: CertificateRunner, ctx: RunContext, hosts: Sequence[str]) -> list[HostResult]:
    settings = kind.settings
    assert settings is not None, "before() runs first"
    results: dict[str, HostResult] = {}
    issued: dict[str, NewCertificate] = {}
    for host in hosts:
        plan = kind.plans[host]
        d = plan.decision
        if d.action == "wait":
            when = d.renew_at.isoformat() if d.renew_at else "later"
            results[host] = _result(plan, "ok", f"not due; renewal due at {when}")
        elif d.action == "blocked":
            results[host] = _result(plan, "skipped", "; ".join(d.reasons))
        elif ctx.deadline is not None and _now() >= ctx.deadline:
            results[host] = _result(plan, "not_started", "window cutoff reached")
        elif ctx.cancel():
            results[host] = _result(plan, "not_started", "run cancelled")
        elif ctx.mode == "check":
            results[host] = _result(plan, "ok", "would renew: " + "; ".join(d.reasons))
        else:
            try:
                issued[host] = _issue(kind, ctx, settings, plan)
            except MaintctlError as exc:
                results[host] = _result(plan, "failed", f"issuance failed: {exc}")
    if issued:
        results.update(_deploy_and_verify(kind, ctx, settings, issued))
    return [results[h] for h in hosts]


def _issue(kind: CertificateRunner, ctx: RunContext, settings: CertSettings, plan: HostPlan) -> NewCertificate:
    acme_settings = settings.acme
    if acme_settings is None:
        raise MaintctlError(f"item {ctx.item.id}: certificate.acme is required to renew")
    started = _now()
    shell = shell_for(plan.host, run_shell(ctx))
    solver: Any
    if acme_settings.challenge == "dns-01":
        solver = dns_solver(acme_settings, ctx.catalogue.settings.aws)
    else:
        solver = WebrootSolver(shell, plan.host, acme_settings.webroot)
    req = IssueRequest(host=plan.host, names=plan.names, key_type=settings.key_type,
                       stage_dir=f"{settings.stage_dir.rstrip('/')}/{ctx.item.id}")
    try:
        new = issue_on_target(shell, kind._acme_client(), req, solver, timeout=acme_settings.timeout)
    except MaintctlError as exc:
        _step(plan, "issue", "failed", started, str(exc))
        raise
    info = x509info.info(new.cert)
    facts = {"host": plan.host, "serial": info.serial, "sha256": info.sha256, "names": list(info.sans),
             "not_after": info.not_after.isoformat(), "issuer": info.issuer, "order": new.issued.order_url,
             "challenge": acme_settings.challenge, "key": f"made on {plan.host} ({settings.key_type})"}
    _step(plan, "issue", "changed", started, f"issued serial {info.serial}", **facts)
    ctx.evidence.record(ctx.bundle_id, "certificate.issued", facts)
    ctx.evidence.artifact(ctx.bundle_id, f"{plan.host}-fullchain.pem", new.issued.fullchain_pem,
                          "application/pem-certificate-chain")
    return new


def _playbook(ctx: RunContext, payloads: dict[str, dict[str, Any]],
              action: str) -> dict[str, tuple[bool, str, bool]]:
    """Run cert-deploy.yml through the engine's tools (run settings, inventory, known_hosts, steps
    streamed); per host (ok, message, restored by the playbook's own rescue). A playbook that cannot
    start fails every host."""
    from runner.engine import tools

    extravars = {"maintctl_certs": payloads, "maintctl_cert_action": action}
    try:
        res = tools.playbook(ctx, list(payloads), PLAYBOOK, extravars=extravars, check=False, label=f"cert-{action}")
        ctx.evidence.artifact(ctx.bundle_id, f"cert-{action}.log", res.stdout_tail(20000).encode())
    except MaintctlError as exc:
        return {h: (False, str(exc), False) for h in payloads}
    out = {}
    for h in payloads:
        hr = res.hosts.get(h)
        failed = hr is None or hr.failed or hr.status in ("skipped", "not_started")
        steps = hr.steps if hr else []
        bad = [s for s in steps if s.status in ("failed", "unreachable")]
        msg = f"{bad[0].name}: {bad[0].message}" if bad else (hr.message if hr else "")
        restored = any(s.name == RESCUED_TASK for s in steps)
        out[h] = (not failed, msg or ("ok" if not failed else f"{action} failed"), restored)
    return out


def _deploy_and_verify(kind: CertificateRunner, ctx: RunContext, settings: CertSettings,
                       issued: dict[str, NewCertificate]) -> dict[str, HostResult]:
    results: dict[str, HostResult] = {}
    payloads = {h: host_payload(new, settings, kind.plans[h].files) for h, new in issued.items()}
    started = _now()
    deployed = _playbook(ctx, payloads, "deploy")
    to_rollback: list[str] = []
    for host, (ok, msg, restored) in deployed.items():
        plan, new = kind.plans[host], issued[host]
        if not ok:
            _step(plan, "deploy", "failed", started, msg)
            ctx.evidence.record(ctx.bundle_id, "certificate.deploy_failed",
                                {"host": host, "message": msg, "restored": restored})
            if restored:
                results[host] = _result(plan, "failed", f"deploy failed and was undone: {msg}", rolled_back=True)
            else:
                to_rollback.append(host)  # the playbook did not get to restore: try a rollback of its own
            continue
        _step(plan, "deploy", "changed", started, "installed and reloaded")
        v_started = _now()
        check = verify_served(plan.endpoint, new.cert, plan.names, kind.roots, timeout=settings.verify_timeout)
        ctx.evidence.record(ctx.bundle_id, "certificate.verified", {"host": host, **check.as_dict()})
        if check.ok:
            _step(plan, "verify", "ok", v_started, check.message, served_sha256=check.served_sha256)
            results[host] = _result(plan, "changed", f"renewed: serial {x509info.serial_hex(new.cert)} served",
                                    renewed=True, serial=x509info.serial_hex(new.cert),
                                    sha256=check.served_sha256)
        else:
            _step(plan, "verify", "failed", v_started, check.message)
            to_rollback.append(host)
    if to_rollback:
        r_started = _now()
        undone = _playbook(ctx, {h: rollback_payload(settings, kind.plans[h].files) for h in to_rollback},
                           "rollback")
        for host in to_rollback:
            plan = kind.plans[host]
            ok, msg, _ = undone[host]
            _step(plan, "rollback", "changed" if ok else "failed", r_started, msg)
            ctx.evidence.record(ctx.bundle_id, "certificate.rolled_back", {"host": host, "ok": ok, "message": msg})
            failed_step = plan.steps[-2]
            undo = "rolled back" if ok else f"ROLLBACK FAILED: {msg}"
            results[host] = _result(plan, "failed", f"{failed_step.name} failed ({failed_step.message}); {undo}",
                                    rolled_back=ok)
    return results

"""ACME (RFC 8555) through the ``acme`` library: account, orders, challenges, renewal information.

The account key is EC P-256 (ES256): every ACME CA accepts it, unlike Ed25519. It lives in the
run's private state folder (``acme/<hash of directory URL>/``, 0700), mode 0600. Only CSRs go to the CA; the
certificate's private key is never seen here.

Challenges are answered by a ``ChallengeSolver`` (HTTP-01 on the target's webroot, DNS-01 in a DNS
zone): this module says what to publish, the solver publishes it and removes it afterwards.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, cast

from runner.errors import AdapterError

USER_AGENT = "maintctl-acme"


class AcmeError(AdapterError):
    """The ACME server refused or failed a request, or a challenge did not validate."""


@dataclass(frozen=True, kw_only=True)
class ChallengeTask:
    """One thing to publish so the CA can validate one identifier.

    HTTP-01: serve ``content`` at ``http://<domain>/.well-known/acme-challenge/<token>``.
    DNS-01: publish a TXT record ``record_name`` with value ``content``.
    """

    type: str
    domain: str
    token: str
    content: str
    record_name: str = ""


class ChallengeSolver(Protocol):
    challenge_type: str  # "http-01" or "dns-01"

    def present(self, tasks: Sequence[ChallengeTask]) -> None:
        """Publish every task; return once the CA could fetch them."""
        ...

    def cleanup(self, tasks: Sequence[ChallengeTask]) -> None:
        """Remove what ``present`` published (called even when validation failed)."""
        ...


@dataclass(frozen=True, kw_only=True)
class Issued:
    fullchain_pem: bytes
    order_url: str

    @property
    def cert_pem(self) -> bytes:
        end = b"-----END CERTIFICATE-----"
        return self.fullchain_pem[: self.fullchain_pem.index(end) + len(end)] + b"\n"

    @property
    def chain_pem(self) -> bytes:
        return self.fullchain_pem[len(self.cert_pem) :].lstrip(b"\n")


def account_dir(state: Path, directory_url: str) -> Path:
    """The private folder (0700) in the state folder ``state`` holding one ACME directory's account."""
    tag = hashlib.sha256(directory_url.encode()).hexdigest()[:16]
    path = state / "acme" / tag
    for folder in (state, state / "acme", path):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by umask and ignored for existing folders
    return path


def load_or_create_account_key(folder: Path) -> bytes:
    """The PEM account key in ``folder`` (created, 0600, when missing)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = folder / "account-key.pem"
    if path.exists():
        return path.read_bytes()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = folder / f".account-key.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return pem


class AcmeClient:
    """One ACME account at one directory URL."""

    def __init__(
        self,
        directory_url: str,
        account_key_pem: bytes,
        *,
        ca_bundle: str | None = None,
        email: str | None = None,
        timeout: int = 30,
    ) -> None:
        from acme import client
        from cryptography.hazmat.primitives import serialization
        from josepy.jwa import ES256
        from josepy.jwk import JWKEC

        self.directory_url = directory_url
        key = serialization.load_pem_private_key(account_key_pem, password=None)
        self._jwk = JWKEC(key=key)
        # ClientNetwork passes verify_ssl straight to requests, which takes a CA bundle path too.
        verify = cast(bool, ca_bundle) if ca_bundle else True
        self._net = client.ClientNetwork(
            self._jwk, alg=ES256, verify_ssl=verify, user_agent=USER_AGENT, timeout=timeout
        )
        self.email = email
        try:
            directory = client.ClientV2.get_directory(directory_url, self._net)
        except Exception as exc:  # noqa: BLE001 - requests, acme and JSON errors all mean "cannot reach"
            raise AcmeError(f"ACME directory {directory_url}: {_why(exc)}") from exc
        self._client = client.ClientV2(directory, self._net)
        self._registered = False

    @property
    def offers_renewal_info(self) -> bool:
        return _directory_get(self._client.directory, "renewalInfo") is not None

    def register(self) -> str:
        """Create the account, or find it again when the key is known; return the account URL."""
        from acme import errors, messages

        reg = messages.NewRegistration.from_data(email=self.email, terms_of_service_agreed=True)
        try:
            regr = self._client.new_account(reg)
            uri = str(regr.uri)
        except errors.ConflictError as exc:
            uri = exc.location
            self._net.account = messages.RegistrationResource(uri=uri, body=messages.Registration())
        except Exception as exc:  # noqa: BLE001
            raise AcmeError(f"ACME account at {self.directory_url}: {_why(exc)}") from exc
        self._registered = True
        return uri

    def issue(self, csr_pem: bytes, solver: ChallengeSolver, *, timeout: float = 120) -> Issued:
        """Order a certificate for the CSR's names, answer challenges with ``solver``, return the chain."""
        if not self._registered:
            self.register()
        try:
            order = self._client.new_order(csr_pem)
        except Exception as exc:  # noqa: BLE001
            raise AcmeError(f"ACME new order: {_why(exc)}") from exc
        tasks, answers = self._challenges(order, solver.challenge_type)
        deadline = datetime.now() + timedelta(seconds=timeout)  # noqa: DTZ005 - acme compares naive local
        try:
            solver.present(tasks)
            for challb, response in answers:
                self._client.answer_challenge(challb, response)
            done = self._client.poll_and_finalize(order, deadline)
        except AdapterError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise AcmeError(f"ACME order for {', '.join(t.domain for t in tasks) or 'CSR'}: {_why(exc)}") from exc
        finally:
            solver.cleanup(tasks)
        return Issued(fullchain_pem=done.fullchain_pem.encode(), order_url=str(order.uri))

    def _challenges(self, order: Any, ctype: str) -> tuple[list[ChallengeTask], list[tuple[Any, Any]]]:
        from acme import challenges, messages

        tasks: list[ChallengeTask] = []
        answers: list[tuple[Any, Any]] = []
        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # the CA remembers an earlier validation of this name
            domain = authz.body.identifier.value
            challb = next((c for c in authz.body.challenges if c.chall.typ == ctype), None)
            if challb is None:
                offered = ", ".join(c.chall.typ for c in authz.body.challenges)
                raise AcmeError(f"ACME server offers no {ctype} challenge for {domain} (offers: {offered})")
            response, validation = challb.response_and_validation(self._jwk)
            record = challb.chall.validation_domain_name(domain) if isinstance(challb.chall, challenges.DNS01) else ""
            tasks.append(ChallengeTask(type=ctype, domain=domain, token=challb.chall.encode("token"),
                                       content=str(validation), record_name=record))
            answers.append((challb, response))
        return tasks, answers

    def renewal_info(self, cert_id: str) -> tuple[datetime, datetime, str] | None:
        """RFC 9773: the CA's suggested window (start, end, explanation URL) for a certificate id, or
        None when the directory offers no ``renewalInfo``."""
        from acme import messages

        base = _directory_get(self._client.directory, "renewalInfo")
        if base is None:
            return None
        url = f"{str(base).rstrip('/')}/{cert_id}"
        try:
            resp = self._net.get(url, content_type="application/json")
            body = resp.json()
            info = messages.RenewalInfo.from_json(body)
        except Exception as exc:  # noqa: BLE001
            raise AcmeError(f"ACME renewal information {url}: {_why(exc)}") from exc
        window = info.suggested_window
        start, end = _aware(window.start), _aware(window.end)
        if end < start:
            raise AcmeError(f"ACME renewal information {url}: window ends before it starts")
        # The acme library does not model explanationURL; it is read from the document directly.
        return start, end, str(body.get("explanationURL") or "")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _directory_get(directory: Any, name: str) -> Any:
    try:
        return directory[name]
    except KeyError:
        return None


def _why(exc: BaseException) -> str:
    """A one-line reason from acme/requests errors (ACME problem documents keep their detail)."""
    from runner.redact import redact_text

    detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    typ = getattr(exc, "typ", None)
    text = f"{detail} ({typ})" if typ else str(detail)
    text = text.splitlines()[0] if text else type(exc).__name__
    # A failed validation carries the CA's reason per challenge: that is what the user needs.
    for authzr in getattr(exc, "failed_authzrs", None) or ():
        for challb in authzr.body.challenges:
            if challb.error is not None:
                text += f" [{authzr.body.identifier.value} {challb.chall.typ}: {challb.error.detail}]"
    return redact_text(text)[:800]


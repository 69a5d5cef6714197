"""Credentials: issue on passing, renew, revoke, and sign/verify them as Open Badges 3.0.

The signing key comes from OB_SIGNING_KEY (an Ed25519 private key in multibase). Without it,
outside production, a development key is generated once into var/ob-signing-key.txt so the demo
can issue credentials; every process reads the same file.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import conf
from portal.models import Credential, ExamAttempt
from portal.openbadges import multibase, signing, verification

_key_lock = threading.Lock()
_key_cache: dict[str, multibase.SigningKey] = {}


def add_months(moment: datetime, months: int) -> datetime:
    """Same day-of-month `months` later, clamped to the month's last day (Jan 31 + 1 = Feb 28)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --- Keys and issuer ------------------------------------------------------------------------


def _dev_key_text() -> str:
    path = conf.dev_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several processes start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(multibase.SigningKey.generate().to_multibase() + "\n")
    return path.read_text().strip()


def signing_key() -> multibase.SigningKey:
    """The issuer's Ed25519 key: OB_SIGNING_KEY, else (not in production) the development key."""
    text = conf.signing_key_text()
    if not text:
        if conf.signing_key_required():
            raise ImproperlyConfigured(
                "Set OB_SIGNING_KEY (an Ed25519 private key in multibase; "
                "`python manage.py ob_keygen` prints a new one)"
            )
        text = _dev_key_text()
    with _key_lock:
        if text not in _key_cache:
            try:
                _key_cache[text] = multibase.SigningKey.from_multibase(text)
            except ValueError as exc:
                raise ImproperlyConfigured(str(exc)) from None
        return _key_cache[text]


def issuer_id() -> str:
    return conf.site_url() + reverse("portal:issuer")


def revocation_list_url() -> str:
    return conf.site_url() + reverse("portal:revocation_list")


def verification_method_id(key: multibase.SigningKey | None = None) -> str:
    """`<issuer>#<publicKeyMultibase>`: the key travels in the id, as the 1EdTech validator
    accepts, and /issuer.json publishes the same id so a verifier can confirm it."""
    return f"{issuer_id()}#{(key or signing_key()).public_multibase}"


def issuer_profile() -> dict[str, Any]:
    return {
        "id": issuer_id(),
        "type": ["Profile"],
        "name": conf.issuer_name(),
        "url": conf.site_url() + "/",
    }


def issuer_document() -> dict[str, Any]:
    """The issuer's public profile and key (a controller document with a Multikey method)."""
    key = signing_key()
    method = verification_method_id(key)
    return {
        "@context": [
            "https://www.w3.org/ns/cid/v1",
            signing.OB_V3P0,
        ],
        **issuer_profile(),
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": issuer_id(),
                "publicKeyMultibase": key.public_multibase,
            }
        ],
        "assertionMethod": [method],
    }


# --- The credential document ------------------------------------------------------------


def _identity_hash(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def credential_document(credential: Credential) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential (VC 2.0) for a credential row."""
    exam = credential.exam
    salt = credential.id.hex[:16]
    narrative = (
        f"Completed the required FinOps-for-AI modules and passed the {exam.title} exam: "
        f"{exam.question_count} questions drawn by domain weight, at least "
        f"{exam.pass_mark()} correct to pass, {exam.duration_minutes} minutes."
    )
    return {
        "@context": [signing.VC_V2, signing.OB_V3P0],
        "id": f"urn:uuid:{credential.id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": exam.title,
        "issuer": issuer_profile(),
        "validFrom": signing.iso(credential.issued_at),
        "validUntil": signing.iso(credential.expires_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": _identity_hash(credential.user.email, salt),
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": f"{conf.site_url()}/achievements/{exam.slug}",
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": exam.title,
                "description": (
                    "Certifies practical knowledge of FinOps for AI: usage and cost of AI, "
                    "unit economics, optimization and running the practice."
                ),
                "criteria": {"narrative": narrative},
            },
        },
        "credentialStatus": {"id": revocation_list_url(), "type": "1EdTechRevocationList"},
    }


def credential_sign(*, credential: Credential, now: datetime | None = None) -> Credential:
    """(Re)build and sign the credential's OB 3.0 document; saves only `document`."""
    key = signing_key()
    credential.document = signing.sign(
        credential_document(credential),
        key=key,
        verification_method=verification_method_id(key),
        created=now or timezone.now(),
    )
    credential.save(update_fields=["document"])
    return credential


def credential_issue_or_renew(*, attempt: ExamAttempt) -> Credential:
    """Credential for a passed attempt: renew a still-valid one, else issue a new one.

    Renewal keeps the id (shared links keep working) and moves the expiry to
    `validity_months` after this pass; it never shortens it. Safe to call twice for the same
    attempt: the second call finds the credential already pointing at it.
    """
    if not attempt.passed or attempt.submitted_at is None:
        raise ValueError("only a passed attempt earns a credential")
    passed_at = attempt.submitted_at
    exam = attempt.exam
    with transaction.atomic():
        existing = (
            Credential.objects.select_for_update()
            .filter(user=attempt.user, exam=exam)
            .active(at=passed_at)
            .order_by("-expires_at")
            .first()
        )
        if existing is not None and existing.attempt_id == attempt.pk:
            return existing
        new_expiry = add_months(passed_at, exam.validity_months)
        if existing is not None:
            existing.expires_at = max(existing.expires_at, new_expiry)
            existing.renewed_at = passed_at
            existing.renewal_count += 1
            existing.attempt = attempt
            existing.save(update_fields=["expires_at", "renewed_at", "renewal_count", "attempt"])
            return credential_sign(credential=existing)
        credential = Credential.objects.create(
            user=attempt.user,
            exam=exam,
            attempt=attempt,
            holder_name=attempt.user.get_full_name() or attempt.user.email,
            issued_at=passed_at,
            expires_at=new_expiry,
        )
        return credential_sign(credential=credential)


def credential_revoke(*, credential: Credential, by: User, reason: str) -> Credential:
    """Revoke (idempotent: a revoked credential keeps its first revocation)."""
    with transaction.atomic():
        locked = Credential.objects.select_for_update().get(pk=credential.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by_id = by.pk
            locked.revocation_reason = reason.strip()[:300]
            locked.save(update_fields=["revoked_at", "revoked_by", "revocation_reason"])
        return locked


def can_revoke(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.has_perm("portal.revoke_credential"))


def revocation_list() -> dict[str, Any]:
    """The 1EdTech revocation list this portal publishes (what verifiers fetch)."""
    revoked = Credential.objects.filter(revoked_at__isnull=False).order_by("revoked_at")
    return {
        "id": revocation_list_url(),
        "issuer": issuer_id(),
        "revokedCredentials": [
            {"id": f"urn:uuid:{c.id}", "revoked": True, "revocationReason": "revoked by issuer"}
            for c in revoked.only("id", "revoked_at")
        ],
    }


# --- Verification -------------------------------------------------------------------------


def _credential_uuid(document: Mapping[str, Any]) -> uuid.UUID | None:
    raw = str(document.get("id", ""))
    if not raw.startswith("urn:uuid:"):
        return None
    try:
        return uuid.UUID(raw[len("urn:uuid:") :])
    except ValueError:
        return None


def _our_status_check(
    fallback: verification.StatusCheck | None,
) -> verification.StatusCheck:
    ours = revocation_list_url()

    def check(document: Mapping[str, Any]) -> verification.Problem | None:
        status = document.get("credentialStatus")
        if isinstance(status, dict) and status.get("id") == ours:
            credential_id = _credential_uuid(document)
            row = Credential.objects.filter(pk=credential_id).first() if credential_id else None
            if row is None:
                return verification.Problem(
                    "status", "this portal has no record of the credential to check its status"
                )
            if row.revoked_at is not None:
                return verification.Problem(
                    "revoked", f"revoked by the issuer on {row.revoked_at:%Y-%m-%d}"
                )
            return None
        if fallback is not None:
            return fallback(document)
        return verification.Problem(
            "status",
            "credentialStatus could not be checked offline (pass a saved list with --status-list)",
        )

    return check


def _check_own_record(document: Mapping[str, Any], report: verification.VerificationReport) -> None:
    """A credential that names this portal as issuer must be one this portal issued: a row with
    the same id, subject, name and start, not outliving the row (renewal only extends it)."""
    credential_id = _credential_uuid(document)
    row = Credential.objects.filter(pk=credential_id).first() if credential_id else None
    if row is None:
        report.error(
            "record",
            f"this portal has no record of the credential {report.credential_id or '(no id)'}",
        )
        return
    recorded = row.document or {}
    for name in ("credentialSubject", "name", "validFrom"):
        if document.get(name) != recorded.get(name):
            report.error("record", f"{name} differs from this portal's record of the credential")
    claimed_end = verification.parse_datetime(document.get("validUntil"))
    if claimed_end is None or claimed_end > row.expires_at:
        report.error("record", "validUntil is later than this portal's record of the credential")
    if row.revoked_at is not None and "revoked" not in report.codes:
        report.error("revoked", f"revoked by the issuer on {row.revoked_at:%Y-%m-%d}")


def credential_verify(
    *,
    document: Any,
    issuer_documents: Iterable[Mapping[str, Any]] = (),
    revocation_lists: Iterable[Mapping[str, Any]] = (),
    now: datetime | None = None,
) -> verification.VerificationReport:
    """Verify any OB 3.0 credential offline; `report.verdict` is valid (issued by this portal),
    valid-foreign (another issuer's, signed with a key that issuer controls) or invalid.

    A credential naming this portal as issuer must be signed with the key /issuer.json
    publishes and match a credential row (revocation comes from the database); one whose issuer
    id or name imitates this portal is invalid.
    issuer_documents: saved issuer profiles of other issuers (their verificationMethod with
    publicKeyMultibase): the only source of an HTTP(S) issuer's keys.
    revocation_lists: saved 1EdTech revocation lists for other issuers' credentialStatus.
    """
    lists = list(revocation_lists)
    fallback = verification.revocation_list_check(lists) if lists else None
    report = verification.verify_credential(
        document,
        now=now or timezone.now(),
        this_portal=verification.IssuerProfile.from_document(issuer_document()),
        issuer_profiles=[verification.IssuerProfile.from_document(d) for d in issuer_documents],
        check_status=_our_status_check(fallback),
    )
    if report.issuer_is_this_portal and isinstance(document, dict):
        _check_own_record(document, report)
    return report


def credential_report_lines(report: verification.VerificationReport, *, source: str) -> list[str]:
    """The human-readable verdict: every problem, who issued it, and whether that is us."""
    lines = [f"  error   {problem}" for problem in report.errors]
    lines += [f"  warning {problem}" for problem in report.warnings]
    issuer = report.issuer_id or "(none)"
    named = f"{report.issuer_name} <{issuer}>" if report.issuer_name else issuer
    if report.issuer_is_this_portal:
        lines.append(f"  issuer  {named}: this portal")
    else:
        lines.append(f"  issuer  {named}: NOT this portal")
    if report.verification_method:
        lines.append(f"  signed  with {report.verification_method}")
    verdict = {
        verification.VERDICT_VALID: f"VALID {source} (issued by this portal)",
        verification.VERDICT_FOREIGN: (
            f"VALID {source} (issued by another issuer, {issuer}; not by this portal)"
        ),
        verification.VERDICT_INVALID: f"INVALID {source} ({', '.join(sorted(report.codes))})",
    }[report.verdict]
    lines.append(verdict)
    return lines


def credential_json(credential: Credential) -> str:
    return json.dumps(credential.document, indent=2, ensure_ascii=False) + "\n"

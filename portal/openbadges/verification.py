"""Verify any Open Badges 3.0 credential offline, the way the 1EdTech validator does minus
the network: context, shape, subject, dates, issuer identity, proof, status."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal.openbadges.multibase import (
    is_public_key_multibase,
    multibase_decode,
    public_key_from_multibase,
)
from portal.openbadges.signing import (
    CREDENTIAL_TYPES,
    CRYPTOSUITES,
    OB_CONTEXT_RE,
    OB_V3P0,
    STATIC_CONTEXTS,
    VC_V1,
    VC_V2,
    OfflineDocumentError,
    UndefinedTermError,
    _hash_data,
)

# --- Verification --------------------------------------------------------------------------

# Reason codes, named after the 1EdTech validator's probes so verdicts can be compared:
# context, type, schema, issuer, credential-subject, evidence, proof, expired, not-yet-valid,
# revoked, status.


@dataclass(frozen=True)
class Problem:
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# The three verdicts, and the exit codes `verify_credential` uses for them (2 is argparse's).
VERDICT_VALID = "valid"  # valid, issued by this portal
VERDICT_FOREIGN = "valid-foreign"  # valid, issued and signed by another issuer
VERDICT_INVALID = "invalid"
EXIT_CODES = {VERDICT_VALID: 0, VERDICT_INVALID: 1, VERDICT_FOREIGN: 3}


@dataclass
class VerificationReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    credential_id: str = ""
    issuer_id: str = ""
    issuer_name: str = ""
    issuer_is_this_portal: bool = False
    verification_method: str = ""

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def verdict(self) -> str:
        if not self.valid:
            return VERDICT_INVALID
        return VERDICT_VALID if self.issuer_is_this_portal else VERDICT_FOREIGN

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def codes(self) -> set[str]:
        return {problem.code for problem in self.errors}

    def error(self, code: str, message: str) -> None:
        self.errors.append(Problem(code, message))

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(Problem(code, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "verdict": self.verdict,
            "credential": self.credential_id,
            "issuer": self.issuer_id,
            "issuerName": self.issuer_name,
            "issuerIsThisPortal": self.issuer_is_this_portal,
            "verificationMethod": self.verification_method,
            "errors": [{"code": p.code, "message": p.message} for p in self.errors],
            "warnings": [{"code": p.code, "message": p.message} for p in self.warnings],
        }


# Given the credential, return a Problem when its status says it must be rejected (revoked),
# a warning-coded Problem ("status") when the status could not be checked, or None when fine.
StatusCheck = Callable[[Mapping[str, Any]], Problem | None]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _types(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    return [str(t) for t in _as_list(node.get("type"))]


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_context(doc: Mapping[str, Any], report: VerificationReport) -> None:
    contexts = [c for c in _as_list(doc.get("@context")) if isinstance(c, str)]
    if not contexts or contexts[0] not in (VC_V2, VC_V1):
        report.error("context", f"missing required @context uri {VC_V2} at position 1")
        return
    if contexts[0] == VC_V1:
        report.warn("context", "Verifiable Credentials Data Model 1.1 context (2.0 expected)")
    if len(contexts) < 2 or not OB_CONTEXT_RE.match(contexts[1]):
        report.error("context", f"missing required @context uri {OB_V3P0} at position 2")
    for url in contexts:
        if url not in STATIC_CONTEXTS:
            report.error("context", f"{url} is not available offline; cannot canonicalize")


def _check_shape(doc: Mapping[str, Any], report: VerificationReport, v2: bool) -> None:
    types = _types(doc)
    if "VerifiableCredential" not in types or not CREDENTIAL_TYPES & set(types):
        report.error(
            "type",
            "type must contain VerifiableCredential and OpenBadgeCredential "
            f"(or AchievementCredential), found {types}",
        )
    date_field = "validFrom" if v2 else "issuanceDate"
    for name in ("id", "name", "issuer", "credentialSubject", date_field):
        if name not in doc:
            report.error("schema", f"required property {name!r} is missing")

    issuer = doc.get("issuer")
    if isinstance(issuer, dict):
        if "Profile" not in _types(issuer):
            report.error("issuer", 'issuer is not of type "Profile"')
        for entry in _as_list(issuer.get("otherIdentifier")):
            if "IdentifierEntry" not in _types(entry):
                report.error("issuer", 'otherIdentifier in issuer is not of type "IdentifierEntry"')
        if "parentOrg" in issuer and "Profile" not in _types(issuer["parentOrg"]):
            report.error("issuer", 'parentOrg in issuer is not of type "Profile"')
    elif issuer is not None:
        report.error("issuer", "issuer must be a Profile object")

    subject = doc.get("credentialSubject")
    if isinstance(subject, dict):
        _check_subject(subject, report)
    elif subject is not None:
        report.error("credential-subject", "credentialSubject must be an object")

    for item in _as_list(doc.get("evidence")):
        if "Evidence" not in _types(item):
            report.error("evidence", 'evidence is not of type "Evidence"')


def _check_subject(subject: Mapping[str, Any], report: VerificationReport) -> None:
    code = "credential-subject"
    if "AchievementSubject" not in _types(subject):
        report.error(code, 'credentialSubject is not of type "AchievementSubject"')
    if not str(subject.get("id") or "").strip() and not _as_list(subject.get("identifier")):
        report.error(code, "credentialSubject has neither id nor identifier")
    for identifier in _as_list(subject.get("identifier")):
        if "IdentityObject" not in _types(identifier):
            report.error(code, 'identifier in credentialSubject is not of type "IdentityObject"')
    for result in _as_list(subject.get("result")):
        if "Result" not in _types(result):
            report.error(code, 'result in credentialSubject is not of type "Result"')
    achievement = subject.get("achievement")
    if isinstance(achievement, dict):
        for description in _as_list(achievement.get("resultDescription")):
            if "ResultDescription" not in _types(description):
                report.error(code, 'resultDescription in achievement is not "ResultDescription"')
        criteria = achievement.get("criteria")
        if not isinstance(criteria, dict) or not (criteria.get("id") or criteria.get("narrative")):
            report.error(code, "criteria in achievement must have id or narrative")
    else:
        report.error(code, "credentialSubject has no achievement")
    if "source" in subject and "Profile" not in _types(subject["source"]):
        report.error(code, 'source in credentialSubject is not of type "Profile"')


def _check_dates(
    doc: Mapping[str, Any], report: VerificationReport, v2: bool, now: datetime
) -> None:
    start_name, end_name = ("validFrom", "validUntil") if v2 else ("issuanceDate", "expirationDate")
    for name in (start_name, end_name):
        if name in doc and parse_datetime(doc[name]) is None:
            report.error("schema", f"{name} is not a date-time: {doc[name]!r}")
    start, end = parse_datetime(doc.get(start_name)), parse_datetime(doc.get(end_name))
    if start is not None and start > now:
        report.error("not-yet-valid", f"the credential is not valid before {doc[start_name]}")
    if end is not None and end <= now:
        report.error("expired", f"the credential expired at {doc[end_name]}")


@dataclass(frozen=True)
class IssuerProfile:
    """What an issuer publishes about itself (its profile at its id): name and keys.

    methods: verification method id -> publicKeyMultibase. For an HTTP(S) or did:web issuer
    this is the only source of keys: a key named inside the credential is never trusted.
    """

    id: str
    name: str = ""
    methods: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> IssuerProfile:
        """From a saved issuer profile / controller document (verificationMethod entries with
        publicKeyMultibase); methods controlled by someone else are left out."""
        issuer = str(document.get("id", ""))
        methods: dict[str, str] = {}
        for method in _as_list(document.get("verificationMethod")):
            if not isinstance(method, dict) or not method.get("publicKeyMultibase"):
                continue
            if str(method.get("controller", issuer)) != issuer:
                continue
            methods[str(method.get("id", ""))] = str(method["publicKeyMultibase"])
        return cls(id=issuer, name=str(document.get("name", "")), methods=methods)


def issuer_lookalike_form(issuer_id: str) -> str:
    """The form two issuer ids share when a person would take one for the other.

    Compatibility-normalized and case-folded; for http(s) the scheme, default port, trailing
    dots of the host, trailing slashes, query and fragment are ignored.
    """
    text = unicodedata.normalize("NFKC", issuer_id).strip().casefold()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return text
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    suffix = f":{port}" if port not in (None, 80, 443) else ""
    return f"{host}{suffix}{unquote(parts.path).rstrip('/')}"


def _names_alike(first: str, second: str) -> bool:
    def simple(name: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", name).casefold().split())

    return bool(simple(first)) and simple(first) == simple(second)


def _check_issuer_identity(
    doc: Mapping[str, Any], report: VerificationReport, this_portal: IssuerProfile | None
) -> None:
    """Set issuer_is_this_portal; an issuer that imitates this portal is an error."""
    if this_portal is None or not report.issuer_id:
        return
    if report.issuer_id == this_portal.id:
        report.issuer_is_this_portal = True
        return
    if issuer_lookalike_form(report.issuer_id) == issuer_lookalike_form(this_portal.id):
        report.error(
            "issuer",
            f"issuer id {report.issuer_id!r} imitates this portal's issuer id {this_portal.id!r}",
        )
    elif _names_alike(report.issuer_name, this_portal.name):
        report.error(
            "issuer",
            f"issuer {report.issuer_id!r} uses this portal's name {this_portal.name!r} "
            "but is not this portal",
        )


def _parse_method(method: str, report: VerificationReport) -> bool:
    """Whether the verification method id is a URI this verifier can understand at all."""
    scheme = urlsplit(method).scheme
    if not scheme or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", scheme):
        report.error("proof", "the verification method must be a valid URI (missing scheme)")
        return False
    if scheme == "did":
        if method.startswith("did:key:"):
            if not is_public_key_multibase(method[len("did:key:") :].partition("#")[0]):
                report.error("proof", "did:key verification method holds no Ed25519 public key")
                return False
            return True
        if method.startswith("did:web:"):
            return True
        report.error("proof", f"unknown verification method: {method}")
        return False
    if scheme not in ("http", "https"):
        report.error("proof", f"unknown verification method scheme: {scheme}")
        return False
    return True


def _issuer_key(
    method: str,
    report: VerificationReport,
    profiles: Mapping[str, IssuerProfile],
) -> Ed25519PublicKey | None:
    """The public key behind `method`, only when the credential's issuer controls it.

    A did:key issuer is its own key: the method must be that did:key. An HTTP(S) or did:web
    issuer's keys come from its issuer profile (this portal's own, or one saved with
    --issuer-doc); the method must be one the profile lists. Anything else is an error.
    """
    issuer_id = report.issuer_id
    if not issuer_id:
        report.error("proof", "no issuer id: nobody controls the verification method")
        return None
    base = method.partition("#")[0]
    if issuer_id.startswith("did:key:"):
        if base != issuer_id:
            report.error(
                "proof",
                f"verification method {method} is not the key of the did:key issuer {issuer_id}",
            )
            return None
        return public_key_from_multibase(base[len("did:key:") :])
    if urlsplit(issuer_id).scheme in ("http", "https") or issuer_id.startswith("did:web:"):
        profile = profiles.get(issuer_id)
        if profile is None:
            report.error(
                "proof",
                f"the issuer profile of {issuer_id} (its keys) is not available offline; pass "
                "it with --issuer-doc (a key named in the credential itself is never trusted)",
            )
            return None
        encoded = profile.methods.get(method)
        named = method.partition("#")[2]
        if is_public_key_multibase(named) and named != encoded:
            encoded = None  # the id names a key the profile does not give for it
        if encoded is None or not is_public_key_multibase(encoded):
            report.error(
                "proof",
                f"verification method {method} is not a key that the issuer publishes "
                f"(in the profile of {issuer_id})",
            )
            return None
        return public_key_from_multibase(encoded)
    report.error(
        "proof",
        f"the issuer {issuer_id} cannot control a key: only a did:key issuer, or an HTTP(S) or "
        "did:web issuer with a published profile can",
    )
    return None


def _check_proof(
    doc: Mapping[str, Any],
    report: VerificationReport,
    *,
    profiles: Mapping[str, IssuerProfile],
) -> None:
    proofs = [p for p in _as_list(doc.get("proof")) if isinstance(p, dict)]
    if not proofs:
        report.error("proof", "the verifiable credential is missing a proof")
        return
    selected = next(
        (
            p
            for p in proofs
            if p.get("proofPurpose") == "assertionMethod"
            and p.get("type") == "DataIntegrityProof"
            and p.get("cryptosuite") in CRYPTOSUITES
        ),
        None,
    )
    if selected is None:
        found = ", ".join(sorted({str(p.get("type")) for p in proofs}))
        report.error(
            "proof",
            "no DataIntegrityProof (eddsa-rdfc-2022) for assertionMethod; "
            f"found {found} (not supported offline)",
        )
        return
    if selected.get("cryptosuite") == "eddsa-2022":
        report.warn("proof", "cryptosuite eddsa-2022 is the draft name of eddsa-rdfc-2022")
    method = str(selected.get("verificationMethod") or "")
    report.verification_method = method
    if not _parse_method(method, report):
        return
    key = _issuer_key(method, report, profiles)
    if key is None:
        return
    proof_value = str(selected.get("proofValue") or "")
    try:
        signature = multibase_decode(proof_value)
    except ValueError as exc:
        report.error("proof", f"proofValue is not base58btc multibase: {exc}")
        return
    unsigned = {name: value for name, value in doc.items() if name != "proof"}
    options = {name: value for name, value in selected.items() if name != "proofValue"}
    try:
        data = _hash_data(unsigned, options)
    except OfflineDocumentError as exc:
        problem = Problem("context", f"{exc.url} is not available offline; cannot canonicalize")
        if problem not in report.errors:
            report.errors.append(problem)
        return
    except UndefinedTermError as exc:
        report.error("proof", f"cannot canonicalize: {exc}")
        return
    except Exception as exc:  # pyld raises JsonLdError with nested details
        report.error("proof", f"cannot canonicalize the credential: {exc}".splitlines()[0])
        return
    try:
        key.verify(signature, data)
    except InvalidSignature:
        report.error("proof", "embedded proof verification failed (signature does not match)")


def verify_credential(
    document: Any,
    *,
    now: datetime,
    this_portal: IssuerProfile | None = None,
    issuer_profiles: Iterable[IssuerProfile] = (),
    check_status: StatusCheck | None = None,
) -> VerificationReport:
    """Check an Open Badges 3.0 credential completely offline; every problem is reported.

    this_portal: the verifying portal's own issuer profile. A credential whose issuer id is
    exactly it is checked against its keys (and `issuer_is_this_portal` is set); one whose id
    or name imitates it is rejected. issuer_profiles: saved profiles of other issuers (the only
    source of an HTTP(S) issuer's keys); one claiming this portal's id is ignored.
    check_status: called when the credential has a credentialStatus.
    """
    report = VerificationReport()
    if not isinstance(document, dict):
        report.error("schema", "a credential is a JSON object")
        return report
    report.credential_id = str(document.get("id", ""))
    issuer = document.get("issuer")
    report.issuer_id = str(issuer.get("id", "")) if isinstance(issuer, dict) else str(issuer or "")
    report.issuer_name = str(issuer.get("name", "")) if isinstance(issuer, dict) else ""
    profiles: dict[str, IssuerProfile] = {}
    for profile in issuer_profiles:
        imitates = this_portal is not None and issuer_lookalike_form(
            profile.id
        ) == issuer_lookalike_form(this_portal.id)
        if not imitates:
            profiles[profile.id] = profile
    if this_portal is not None:
        profiles[this_portal.id] = this_portal
    _check_context(document, report)
    v2 = _as_list(document.get("@context"))[:1] == [VC_V2]
    _check_shape(document, report, v2)
    _check_dates(document, report, v2, now)
    _check_issuer_identity(document, report, this_portal)
    _check_proof(document, report, profiles=profiles)
    if document.get("credentialStatus"):
        if check_status is None:
            report.warn("status", "credentialStatus was not checked (no status list offline)")
        else:
            problem = check_status(document)
            if problem is not None and problem.code == "status":
                report.warnings.append(problem)
            elif problem is not None:
                report.errors.append(problem)
    return report


def revocation_list_check(revocation_lists: Iterable[Mapping[str, Any]]) -> StatusCheck:
    """A StatusCheck against saved 1EdTech revocation lists ({"revokedCredentials": [...]})."""
    revoked: set[str] = set()
    for listing in revocation_lists:
        for item in _as_list(listing.get("revokedCredentials")):
            if isinstance(item, dict) and item.get("id") and item.get("revoked", True):
                revoked.add(str(item["id"]))

    def check(document: Mapping[str, Any]) -> Problem | None:
        status = document.get("credentialStatus")
        if not isinstance(status, dict) or status.get("type") != "1EdTechRevocationList":
            return Problem("status", "credentialStatus of an unsupported type was not checked")
        if str(document.get("id", "")) in revoked:
            return Problem("revoked", "the issuer's revocation list says it has been revoked")
        return None

    return check

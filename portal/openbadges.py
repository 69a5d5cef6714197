"""Open Badges 3.0 credentials: sign and verify Data Integrity proofs, offline.

Pure functions, no database: `portal.credentials` builds this product's credentials and adds
what only the database knows (revocation); `verify_credential` here checks any OB 3.0
credential the way the 1EdTech validator does, minus the network.

Signing follows the `eddsa-rdfc-2022` cryptosuite (W3C VC Data Integrity EdDSA): canonicalize the
credential without its proof and the proof options (with the credential's `@context`) with
RDFC-1.0 (URDNA2015), hash each with SHA-256, sign `hash(proof options) + hash(credential)`
with Ed25519, and store the signature as base58btc multibase in `proofValue`.

JSON-LD contexts come from `portal/jsonld_contexts/` through a static document loader, and
canonicalization runs in "safe mode": a property the contexts do not define would be silently
dropped from the signed data, so it is an error instead.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

CONTEXT_DIR = Path(__file__).resolve().parent / "jsonld_contexts"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
STATIC_CONTEXTS: dict[str, str] = {
    VC_V2: "credentials-v2.jsonld",
    VC_V1: "2018-credentials-v1.jsonld",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    OB_V3P0: "ob-v3p0-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-3.0.1.json",
}
# What the 1EdTech validator accepts in second position: any 3.0.x context, or an alias.
OB_CONTEXT_RE = re.compile(
    r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.0\.\d+)?\.json$"
    r"|^https://imsglobal\.github\.io/openbadges-specification/context\.json$"
)
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
CRYPTOSUITES = {"eddsa-rdfc-2022", "eddsa-2022"}  # eddsa-2022: the suite's earlier name

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58)}
ED25519_PUB_PREFIX = b"\xed\x01"  # multicodec ed25519-pub
ED25519_PRIV_PREFIX = b"\x80\x26"  # multicodec ed25519-priv


# --- Multibase -----------------------------------------------------------------------------


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + _B58_INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_ones = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_ones + body


def multibase_decode(text: str) -> bytes:
    if not text.startswith("z"):
        raise ValueError("only base58btc multibase values (starting with z) are supported")
    return b58decode(text[1:])


def public_key_from_multibase(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its Multikey form (`z6Mk...`); ValueError if it is not one."""
    raw = multibase_decode(text)
    if not raw.startswith(ED25519_PUB_PREFIX) or len(raw) != 34:
        raise ValueError("not an Ed25519 public key in multicodec form")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def is_public_key_multibase(text: str) -> bool:
    try:
        public_key_from_multibase(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_multibase(cls, text: str) -> SigningKey:
        """Parse `z3u2...`: multibase base58btc of multicodec ed25519-priv + 32-byte seed."""
        try:
            raw = multibase_decode(text.strip())
        except ValueError as exc:
            raise ValueError(f"OB_SIGNING_KEY is malformed: {exc}") from None
        if not raw.startswith(ED25519_PRIV_PREFIX) or len(raw) != 34:
            raise ValueError(
                "OB_SIGNING_KEY is malformed: expected an Ed25519 private key in multibase "
                "(multicodec 0x1300 + 32 bytes, base58btc, starting with z3u2)"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(raw[2:]))

    def to_multibase(self) -> str:
        seed = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return "z" + b58encode(ED25519_PRIV_PREFIX + seed)

    @property
    def public_multibase(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "z" + b58encode(ED25519_PUB_PREFIX + raw)


# --- JSON-LD -------------------------------------------------------------------------------


class OfflineDocumentError(Exception):
    """A context that is not vendored: canonicalizing would need the network."""

    def __init__(self, url: str) -> None:
        super().__init__(f"{url} is not available offline")
        self.url = url


class UndefinedTermError(Exception):
    def __init__(self, term: str | None) -> None:
        super().__init__(f"{term!r} is not defined by the credential's contexts")
        self.term = term


@functools.cache
def _context_text(url: str) -> str:
    return (CONTEXT_DIR / STATIC_CONTEXTS[url]).read_text(encoding="utf-8")


def static_document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader that knows only the vendored contexts and never fetches."""
    if url not in STATIC_CONTEXTS:
        raise OfflineDocumentError(url)
    return {"contextUrl": None, "documentUrl": url, "document": json.loads(_context_text(url))}


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None) or current.__cause__ or current.__context__
        if isinstance(cause, OfflineDocumentError | UndefinedTermError):
            return cause
        if not isinstance(cause, BaseException):
            break
        current = cause
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        nested = details.get("cause")
        if isinstance(nested, BaseException):
            return _root_cause(nested)
    return exc


def canonicalize(document: Mapping[str, Any]) -> str:
    """RDFC-1.0 (URDNA2015) N-Quads of a JSON-LD document, offline and in safe mode.

    Raises OfflineDocumentError for an unknown context and UndefinedTermError for a property
    the contexts do not define (it would be left out of what is signed).
    """

    def refuse_dropped(term: str | None) -> None:
        raise UndefinedTermError(term)

    processor = jsonld.JsonLdProcessor(on_property_dropped=refuse_dropped)
    try:
        result = processor.normalize(
            copy.deepcopy(dict(document)),
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": static_document_loader,
            },
        )
    except Exception as exc:
        root = _root_cause(exc)
        if root is not exc:
            raise root from exc
        raise
    return str(result)


def _hash_data(unsigned: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    options = {"@context": unsigned["@context"], **proof_options}
    return (
        hashlib.sha256(canonicalize(options).encode()).digest()
        + hashlib.sha256(canonicalize(unsigned).encode()).digest()
    )


def iso(moment: datetime) -> str:
    """XML Schema dateTime in UTC with a Z, to the second (what VC validators expect)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(
    document: Mapping[str, Any],
    *,
    key: SigningKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """Return the document with a DataIntegrityProof (eddsa-rdfc-2022); any old proof goes."""
    unsigned = {name: value for name, value in document.items() if name != "proof"}
    proof: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "created": iso(created),
        "verificationMethod": verification_method,
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
    }
    signature = key.private.sign(_hash_data(unsigned, proof))
    return {**unsigned, "proof": {**proof, "proofValue": "z" + b58encode(signature)}}


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


@dataclass
class VerificationReport:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    credential_id: str = ""
    issuer_id: str = ""
    verification_method: str = ""

    @property
    def valid(self) -> bool:
        return not self.errors

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
            "credential": self.credential_id,
            "issuer": self.issuer_id,
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


def _parse_datetime(value: Any) -> datetime | None:
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
        if name in doc and _parse_datetime(doc[name]) is None:
            report.error("schema", f"{name} is not a date-time: {doc[name]!r}")
    start, end = _parse_datetime(doc.get(start_name)), _parse_datetime(doc.get(end_name))
    if start is not None and start > now:
        report.error("not-yet-valid", f"the credential is not valid before {doc[start_name]}")
    if end is not None and end <= now:
        report.error("expired", f"the credential expired at {doc[end_name]}")


@dataclass(frozen=True)
class _ResolvedKey:
    key: Ed25519PublicKey
    multibase: str
    controller: str | None


def _resolve_method(
    method: str, known_methods: Mapping[str, str], report: VerificationReport
) -> _ResolvedKey | None:
    """The public key behind a verificationMethod, without the network.

    Accepted, as by the 1EdTech validator: `controller#<publicKeyMultibase>` and
    `did:key:<publicKeyMultibase>`; other http(s) ids only when they are known locally
    (this portal's issuer document, or one given with --issuer-doc).
    """
    base, _, fragment = method.partition("#")
    if fragment and is_public_key_multibase(fragment):
        return _ResolvedKey(public_key_from_multibase(fragment), fragment, base)
    scheme = urlsplit(method).scheme
    if not scheme or not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", scheme):
        report.error("proof", "the verification method must be a valid URI (missing scheme)")
        return None
    if scheme == "did":
        if method.startswith("did:key:"):
            encoded = method[len("did:key:") :].partition("#")[0]
            if is_public_key_multibase(encoded):
                return _ResolvedKey(public_key_from_multibase(encoded), encoded, None)
            report.error("proof", "did:key verification method holds no Ed25519 public key")
            return None
        if method.startswith("did:web:") and method in known_methods:
            encoded = known_methods[method]
            return _ResolvedKey(public_key_from_multibase(encoded), encoded, base)
        report.error("proof", f"unknown verification method: {method}")
        return None
    if scheme in ("http", "https"):
        if method in known_methods:
            encoded = known_methods[method]
            return _ResolvedKey(public_key_from_multibase(encoded), encoded, base)
        report.error(
            "proof",
            f"key document for {method} is not available offline "
            "(pass the issuer's published key document with --issuer-doc)",
        )
        return None
    report.error("proof", f"unknown verification method scheme: {scheme}")
    return None


def _check_proof(
    doc: Mapping[str, Any],
    report: VerificationReport,
    *,
    known_methods: Mapping[str, str],
    issuer_keys: Mapping[str, Iterable[str]],
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
    resolved = _resolve_method(method, known_methods, report)
    if resolved is None:
        return
    issuer = doc.get("issuer")
    issuer_id = str(issuer.get("id", "")) if isinstance(issuer, dict) else str(issuer or "")
    if resolved.controller is not None and issuer_id and resolved.controller != issuer_id:
        report.error("proof", f"key controller does not match issuer: {issuer_id}")
        return
    if issuer_id in issuer_keys:
        if resolved.multibase not in set(issuer_keys[issuer_id]):
            report.error("proof", "the signing key is not a key that the issuer publishes")
            return
    else:
        report.warn(
            "proof",
            "key read from the verification method id; confirm it with the issuer "
            "(no online lookup was made)",
        )
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
        resolved.key.verify(signature, data)
    except InvalidSignature:
        report.error("proof", "embedded proof verification failed (signature does not match)")


def verify_credential(
    document: Any,
    *,
    now: datetime,
    known_methods: Mapping[str, str] | None = None,
    issuer_keys: Mapping[str, Iterable[str]] | None = None,
    check_status: StatusCheck | None = None,
) -> VerificationReport:
    """Check an Open Badges 3.0 credential completely offline; every problem is reported.

    known_methods: verification method id -> publicKeyMultibase, for ids that carry no key
    (e.g. from a saved issuer document). issuer_keys: issuer id -> the keys it publishes; a
    credential from such an issuer must be signed with one of them. check_status: called when
    the credential has a credentialStatus.
    """
    report = VerificationReport()
    if not isinstance(document, dict):
        report.error("schema", "a credential is a JSON object")
        return report
    report.credential_id = str(document.get("id", ""))
    issuer = document.get("issuer")
    report.issuer_id = str(issuer.get("id", "")) if isinstance(issuer, dict) else str(issuer or "")
    _check_context(document, report)
    v2 = _as_list(document.get("@context"))[:1] == [VC_V2]
    _check_shape(document, report, v2)
    _check_dates(document, report, v2, now)
    _check_proof(document, report, known_methods=known_methods or {}, issuer_keys=issuer_keys or {})
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

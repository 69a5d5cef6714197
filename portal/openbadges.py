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
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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

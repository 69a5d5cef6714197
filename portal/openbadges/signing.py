"""Open Badges 3.0 signing: JSON-LD contexts from `portal/jsonld_contexts/` through a static
document loader, RDFC-1.0 canonicalization in "safe mode" (an undefined term is an error,
not silently dropped), and `eddsa-rdfc-2022` Data Integrity proofs."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyld import jsonld

from portal.openbadges.multibase import (
    SigningKey,
    b58encode,
)

CONTEXT_DIR = Path(__file__).resolve().parent.parent / "jsonld_contexts"
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

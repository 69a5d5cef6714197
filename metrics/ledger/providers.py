"""The one table of providers: each ledger provider key with the names bills, people, the
price catalog and EcoLogits use for it.

Every place that turns a name into a provider key, or a key into a name, reads this table:
the FOCUS import (ProviderName -> key) and export (key -> ProviderName, first-party invoice
issuers), the bot's question parser (words people type -> key), the price catalog (ledger key
-> the provider its models are listed under) and the carbon estimates (ledger key ->
EcoLogits provider). A new provider, or a new spelling of one, is one row here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNKNOWN = "unknown"  # the key of records whose source names no provider


@dataclass(frozen=True)
class Provider:
    key: str  # CostRecord.provider
    name: str  # how people and bills name it
    # FOCUS ProviderName/PublisherName spellings that import as `key` (compared ignoring case);
    # the first is the ProviderName the export writes for a record that has none. Empty: FOCUS
    # files name it by its key.
    focus_names: tuple[str, ...] = ()
    # Words people use for it in questions (lower case); several words may name one provider.
    words: tuple[str, ...] = ()
    # Its own legal entities as invoice issuers (FOCUS InvoiceIssuerName), compared as a prefix
    # of the issuer's lower-case letters and digits.
    issuers: tuple[str, ...] = ()
    # The provider the price catalog lists its models under ("": the key itself).
    catalog: str = ""
    # The EcoLogits provider of its models ("": EcoLogits knows none by this provider; models
    # resold by a cloud are recognized by their name in metrics.economics.carbon).
    ecologits: str = ""
    # Other ledger keys (FOCUS x_Provider values) that mean this provider's models.
    other_keys: tuple[str, ...] = ()

    @property
    def catalog_key(self) -> str:
        return self.catalog or self.key


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "openai",
        "OpenAI",
        focus_names=("OpenAI",),
        words=("openai", "open ai", "open-ai"),
        issuers=("openai",),
        ecologits="openai",
    ),
    Provider(
        "anthropic",
        "Anthropic",
        focus_names=("Anthropic",),
        words=("anthropic",),
        issuers=("anthropic",),
        ecologits="anthropic",
    ),
    Provider(
        "aws",
        "AWS",
        focus_names=("AWS", "Amazon Web Services"),
        words=("aws", "amazon", "bedrock", "amazon bedrock"),
        issuers=("amazonwebservices", "aws"),
    ),
    Provider(
        "azure",
        "Microsoft",
        focus_names=("Microsoft", "Azure", "Microsoft Azure"),
        words=("azure", "azure openai", "microsoft"),
        issuers=("microsoft",),
    ),
    Provider(
        "gcp",
        "Google Cloud",
        focus_names=("Google Cloud", "Google", "GCP"),
        words=("gcp", "google", "google cloud", "vertex", "vertex ai"),
        issuers=("google",),
        catalog="google",
        ecologits="google_genai",
        other_keys=("google", "google_genai", "gemini", "vertex"),
    ),
    Provider(
        "oci",
        "Oracle",
        focus_names=("Oracle", "Oracle Cloud Infrastructure", "OCI"),
        words=("oci", "oracle"),
        issuers=("oracle",),
    ),
    Provider(
        "kubernetes",
        "Kubernetes",
        words=("kubernetes", "k8s", "opencost", "gpu cluster", "gpu clusters"),
    ),
    Provider("mistral", "Mistral AI", ecologits="mistralai", other_keys=("mistralai",)),
    Provider("cohere", "Cohere", ecologits="cohere"),
    Provider(UNKNOWN, "Unknown", focus_names=("Unknown",)),
)

_BY_KEY = {p.key: p for p in PROVIDERS}
_BY_ANY_KEY = {k: p for p in PROVIDERS for k in (p.key, *p.other_keys)}
_BY_FOCUS_NAME = {n.lower(): p for p in PROVIDERS for n in p.focus_names}
_BY_WORD = {w: p for p in PROVIDERS for w in p.words}


def get(key: str) -> Provider | None:
    """The provider whose ledger key is exactly `key`."""
    return _BY_KEY.get(key)


def resolve(key: str) -> Provider | None:
    """The provider a ledger key means, by its key or one of its other keys (any case)."""
    return _BY_ANY_KEY.get(key.strip().lower())


def catalog_provider(key: str) -> str:
    """The provider the price catalog lists this ledger key's models under."""
    provider = resolve(key)
    return provider.catalog_key if provider else key.strip().lower()


def ecologits_provider(key: str) -> str | None:
    """The EcoLogits provider of this ledger key's models, or None."""
    provider = resolve(key)
    return (provider.ecologits or None) if provider else None


def key_for_focus_name(name: str) -> str:
    """The ledger key of a FOCUS ProviderName: a known spelling's key, else the name made a
    key (lower case, runs of other characters as "-", at most 32 characters)."""
    lowered = name.strip().lower()
    if not lowered:
        return UNKNOWN
    provider = _BY_FOCUS_NAME.get(lowered)
    if provider:
        return provider.key
    return re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")[:32]


def focus_name(key: str) -> str:
    """The FOCUS ProviderName for a ledger key, for records whose source gave none."""
    provider = get(key)
    if provider and provider.focus_names:
        return provider.focus_names[0]
    return key or "Unknown"


def first_party_issuers(key: str) -> tuple[str, ...]:
    """The provider's own legal entities as invoice issuers (letters and digits, lower case)."""
    provider = get(key)
    return provider.issuers if provider else ()


def words() -> dict[str, str]:
    """Every word people use for a provider -> its key, in table order."""
    return {word: provider.key for word, provider in _BY_WORD.items()}


def display_name(key: str) -> str:
    """How people name the provider of a ledger key (the key itself when it has no row)."""
    provider = get(key)
    return provider.name if provider else key

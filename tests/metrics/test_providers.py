"""The one table of providers: every name resolves to its provider, no name to two, and a
FOCUS ProviderName survives an import and an export. Pure: no database."""

from collections import Counter
from datetime import date

import pytest

from bot.question import Vocabulary, parse_question
from metrics.ledger import providers
from metrics.ledger.providers import PROVIDERS, UNKNOWN


def ids(p):
    return p.key


def test_keys_are_ledger_keys():
    """Lower case, at most 32 characters (CostRecord.provider), the shape an import gives."""
    for p in PROVIDERS:
        for key in (p.key, *p.other_keys):
            assert key == key.strip().lower() and len(key) <= 32, key


def test_no_name_maps_to_two_providers():
    keys = Counter(k for p in PROVIDERS for k in {p.key, *p.other_keys})
    focus = Counter(n.lower() for p in PROVIDERS for n in {n.lower() for n in p.focus_names})
    words = Counter(w for p in PROVIDERS for w in set(p.words))
    for kind, counts in (("key", keys), ("FOCUS name", focus), ("word", words)):
        twice = sorted(n for n, c in counts.items() if c > 1)
        assert not twice, f"{kind}s naming two providers: {twice}"


@pytest.mark.parametrize("p", PROVIDERS, ids=ids)
def test_every_name_resolves_to_its_provider(p):
    assert providers.get(p.key) is p
    for key in (p.key, *p.other_keys):
        assert providers.resolve(key) is p
        assert providers.resolve(f" {key.upper()} ") is p
        assert providers.catalog_provider(key) == p.catalog_key
        assert providers.ecologits_provider(key) == (p.ecologits or None)
    for name in p.focus_names:
        assert providers.key_for_focus_name(name) == p.key
        assert providers.key_for_focus_name(f"  {name.upper()} ") == p.key
    for word in p.words:
        assert providers.words()[word] == p.key


@pytest.mark.parametrize("p", [p for p in PROVIDERS if p.words], ids=ids)
def test_the_bot_reads_every_word_as_its_provider(p):
    vocabulary = Vocabulary(teams=(), providers=(), models=())
    for word in p.words:
        q = parse_question(
            f"how much did we spend on {word} last month",
            today=date(2026, 10, 15),
            vocabulary=vocabulary,
        )
        assert q.providers == (p.key,), word


@pytest.mark.parametrize("p", PROVIDERS, ids=ids)
def test_export_of_import_round_trips(p):
    """Any spelling imports as the key; the key exports as the first spelling, which imports
    as the key again. A provider FOCUS files name by its key round-trips as the key."""
    for name in p.focus_names:
        assert providers.focus_name(providers.key_for_focus_name(name)) == p.focus_names[0]
    exported = providers.focus_name(p.key)
    assert exported == (p.focus_names[0] if p.focus_names else p.key)
    assert providers.key_for_focus_name(exported) == p.key


def test_names_outside_the_table():
    assert providers.key_for_focus_name("") == providers.key_for_focus_name("  ") == UNKNOWN
    assert providers.key_for_focus_name("Acme Cloud, Inc.") == "acme-cloud-inc"
    assert providers.key_for_focus_name("X" * 40) == "x" * 32
    assert providers.focus_name("") == "Unknown"
    assert providers.focus_name("acme") == "acme"
    assert providers.catalog_provider(" Meta ") == "meta"
    assert providers.ecologits_provider("meta") is None
    assert providers.first_party_issuers("acme") == ()
    assert providers.display_name("acme") == "acme"


def test_what_the_copies_said():
    """The mappings the five copies held before the table (bot, pricing, FOCUS import and
    export, carbon), pinned."""
    assert providers.words()["bedrock"] == "aws"
    assert providers.words()["vertex ai"] == "gcp"
    assert providers.words()["gpu clusters"] == "kubernetes"
    assert providers.key_for_focus_name("Amazon Web Services") == "aws"
    assert providers.key_for_focus_name("Microsoft Azure") == "azure"
    assert providers.key_for_focus_name("Google") == "gcp"
    assert providers.key_for_focus_name("Kubernetes") == "kubernetes"
    assert providers.key_for_focus_name("Mistral AI") == "mistral-ai"
    assert providers.focus_name("azure") == "Microsoft"
    assert providers.focus_name("kubernetes") == "kubernetes"
    assert providers.focus_name("google") == "google"
    assert providers.first_party_issuers("aws") == ("amazonwebservices", "aws")
    assert providers.first_party_issuers("google") == ()
    assert providers.catalog_provider("gcp") == providers.catalog_provider("Vertex") == "google"
    assert providers.catalog_provider("mistralai") == "mistral"
    assert providers.catalog_provider("azure") == "azure"
    assert providers.ecologits_provider("vertex") == "google_genai"
    assert providers.ecologits_provider("mistral") == "mistralai"
    assert providers.ecologits_provider("aws") is None
    assert providers.ecologits_provider("kubernetes") is None

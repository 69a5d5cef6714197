"""verify_credential against the 1EdTech validator's own OB 3.0 test set (../shared).

Expected verdicts come from the validator's OB30Tests (the probe each test asserts, mapped to
our reason codes) and from shared/data/credentials/MANIFEST.md. Files that the validator can
only judge with the network (a context we do not hold, a key or revocation list to fetch) are
listed apart: offline we must not call them valid, and we say why.

The validator fetches an HTTP(S) issuer's profile for its keys; offline we never take a key
from the credential itself, so the issuers' profiles are saved here (ISSUER_PROFILES, the key
each of the set's issuers signs with) and passed as --issuer-doc, as a verifier would.
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.credentials import credential_verify

KEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
ISSUER_PROFILES = {
    issuer: {
        "id": issuer,
        "type": ["Profile"],
        "verificationMethod": [
            {"id": f"{issuer}#{KEY}", "controller": issuer, "publicKeyMultibase": KEY}
        ],
    }
    for issuer in (
        "https://example.com/issuers/876543",
        "https://example.edu/issuers/565049",
        "https://1edtech.edu/issuers/565049",
    )
}
VALID = [
    "simple.json",
    "simple-context-alias.json",
    "simple-did-web-method.json",  # the key is in the method id; no did:web lookup needed
    "simple-multiple-proofs.json",
    "simple-eddsa-2022.json",  # valid with warnings (VCDM 1.1, draft cryptosuite name)
]
# file -> (reason code, exact: the validator asserts this is the only error)
REJECTED = {
    "simple-err-context.json": ("context", False),
    "simple-err-type.json": ("type", False),
    "simple-err-issuer.json": ("schema", False),
    "simple-err-issuer-type.json": ("issuer", False),
    "simple-err-issuer-parentorg-type.json": ("issuer", False),
    "simple-err-issuer-otheridentifier-type.json": ("issuer", False),
    "simple-err-credential-subject-type.json": ("credential-subject", False),
    "simple-err-credential-subject-identifier-type.json": ("credential-subject", False),
    "simple-err-credential-subject-result-type.json": ("credential-subject", False),
    "simple-err-credential-subject-profile-type.json": ("credential-subject", False),
    "simple-err-credential-subject-achievement-result-description-type.json": (
        "credential-subject",
        False,
    ),
    "simple-err-evidence-type.json": ("evidence", False),
    "simple-err-expired.json": ("expired", True),
    "simple-err-issued.json": ("not-yet-valid", False),
    "simple-err-proof-method.json": ("proof", False),  # the validator 404s on the key URL
    "simple-err-proof-method-no-scheme.json": ("proof", True),
    "simple-err-proof-method-unknown-scheme.json": ("proof", True),
    "simple-err-proof-method-unknown-did-method.json": ("proof", True),
    "simple-err-proof-value.json": ("proof", True),
    "simple-noproof.json": ("proof", False),
}
# Need the network for the validator's verdict: contexts we do not vendor (extensions.json,
# context-3.0.2.json, the unversioned context.json, the ed25519-2020 suite) and, for
# credential-status-revoked.json, the issuer's revocation list.
NEEDS_NETWORK = [
    "complete.json",
    "complete_v1.json",
    "simple_v1.json",
    "simple-did-key-method.json",
    "simple-context-version.json",
    "credential-status-revoked.json",
    "endorsement-valid.json",
    "endorsement-err-schema-status-refresh.json",
]


@pytest.fixture
def ob30(shared_dir):
    return shared_dir / "data" / "credentials" / "ob30"


@pytest.fixture
def profiles(tmp_path):
    """The set's issuer profiles saved as files: --issuer-doc arguments."""
    args = []
    for index, profile in enumerate(ISSUER_PROFILES.values()):
        path = tmp_path / f"issuer-{index}.json"
        path.write_text(json.dumps(profile))
        args += ["--issuer-doc", str(path)]
    return args


def _verify(path):
    return credential_verify(
        document=json.loads(path.read_text()), issuer_documents=ISSUER_PROFILES.values()
    )


def test_every_json_file_of_the_set_is_classified(ob30):
    files = {path.name for path in ob30.glob("*.json")}
    assert files == set(VALID) | set(REJECTED) | set(NEEDS_NETWORK)
    assert {name for name in files if name.startswith("simple-err-")} <= set(REJECTED)


@pytest.mark.parametrize("name", VALID)
def test_valid_examples_are_accepted_as_another_issuers(ob30, name, profiles, db):
    out = StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("verify_credential", str(ob30 / name), *profiles, stdout=out)
    assert exit_status.value.code == 3  # valid, but not issued by this portal
    assert f"VALID {ob30 / name} (issued by another issuer" in out.getvalue()
    assert ": NOT this portal" in out.getvalue()


@pytest.mark.parametrize("name", VALID)
def test_without_the_issuer_profile_the_key_in_the_credential_is_not_trusted(ob30, name, db):
    report = credential_verify(document=json.loads((ob30 / name).read_text()))
    assert report.codes == {"proof"}
    assert "not available offline" in str(report.errors)


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_error_examples_are_rejected_for_the_reason_in_their_name(ob30, name, profiles, db):
    code, exact = REJECTED[name]
    report = _verify(ob30 / name)
    assert not report.valid
    assert code in report.codes, report.errors
    if exact:
        assert report.codes == {code}, report.errors
    with pytest.raises(CommandError, match=f"INVALID .*{code}"):
        call_command("verify_credential", str(ob30 / name), *profiles, stdout=StringIO())


@pytest.mark.parametrize("name", NEEDS_NETWORK)
def test_files_that_need_the_network_are_never_called_valid_offline(ob30, name, db):
    report = _verify(ob30 / name)
    assert not report.valid
    assert any(
        "not available offline" in p.message or "not supported" in p.message for p in report.errors
    )


def test_a_saved_revocation_list_rejects_the_revoked_example(ob30, tmp_path, db):
    """credential-status-revoked.json: with its issuer's list saved beside it (the validator
    fetches it), the verdict names the revocation."""
    document = json.loads((ob30 / "credential-status-revoked.json").read_text())
    listing = {"revokedCredentials": [{"id": document["id"], "revoked": True}]}
    saved = tmp_path / "revocations.json"
    saved.write_text(json.dumps(listing))
    with pytest.raises(CommandError, match="revoked"):
        call_command(
            "verify_credential",
            str(ob30 / "credential-status-revoked.json"),
            "--status-list",
            str(saved),
            stdout=StringIO(),
        )


def test_json_report(ob30, profiles, db):
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "verify_credential", str(ob30 / "simple.json"), "--json", *profiles, stdout=out
        )
    report = json.loads(out.getvalue())
    assert report["valid"] is True and report["errors"] == []
    assert report["verdict"] == "valid-foreign" and report["issuerIsThisPortal"] is False
    assert report["issuer"] == "https://example.com/issuers/876543"

"""Forged credentials (#12): the key must be one the issuer controls, a credential claiming
this portal must match its key and its own record, look-alike issuers are rejected, and the
verdict names the issuer with an exit code per verdict (0 ours, 3 foreign, 1 invalid)."""

import copy
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.credentials import credential_verify, issuer_id, signing_key
from portal.openbadges.multibase import SigningKey
from portal.openbadges.signing import sign


def _forge(document, *, issuer=None, method=None, key=None, **changes):
    """Re-sign `document` (our credential's shape) as an attacker would."""
    forged = copy.deepcopy(document)
    forged.pop("proof", None)
    if issuer is not None:
        forged["issuer"] = {**forged["issuer"], **issuer}
    forged.update(changes)
    attacker = key or SigningKey.generate()
    method = method or f"did:key:{attacker.public_multibase}#{attacker.public_multibase}"
    return sign(forged, key=attacker, verification_method=method, created=timezone.now())


def _unknown_person(document):
    subject = copy.deepcopy(document["credentialSubject"])
    subject["identifier"][0]["identityHash"] = "sha256$" + "0" * 64
    return subject


def _run(tmp_path, document, *args):
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(document))
    out = StringIO()
    try:
        call_command("verify_credential", str(path), *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def _lookalikes():
    ours = issuer_id()  # http://127.0.0.1:8000/issuer.json by default
    scheme, rest = ours.split("://", 1)
    host, path = rest.split("/", 1)
    other = "https" if scheme == "http" else "http"
    return [
        f"{scheme.upper()}://{host.upper()}/{path}",  # the case the issue found
        f"{other}://{rest}",
        f"{scheme}://{host}./{path}",  # trailing dot
        f"{scheme}://{rest}/",
        f"{scheme}://{rest}#x",
    ]


@pytest.mark.parametrize("index", range(5))
def test_a_did_key_credential_claiming_a_lookalike_of_this_portal_is_invalid(
    certified, tmp_path, index
):
    lookalike = _lookalikes()[index]
    forged = _forge(
        certified.document,
        issuer={"id": lookalike},
        credentialSubject=_unknown_person(certified.document),
    )
    code, output = _run(tmp_path, forged)
    assert code == 1
    assert "INVALID" in output and "VALID " + str(tmp_path) not in output.replace("INVALID", "")
    assert "imitates this portal" in output


def test_a_lookalike_issuer_with_its_own_key_in_the_method_id_is_invalid(certified, tmp_path):
    attacker = SigningKey.generate()
    lookalike = _lookalikes()[1]
    forged = _forge(
        certified.document,
        issuer={"id": lookalike},
        method=f"{lookalike}#{attacker.public_multibase}",
        key=attacker,
    )
    code, output = _run(tmp_path, forged)
    assert code == 1 and "imitates this portal" in output


def test_another_host_with_this_portals_name_is_invalid(certified, tmp_path):
    attacker = SigningKey.generate()
    forged = _forge(
        certified.document,
        issuer={"id": f"did:key:{attacker.public_multibase}"},
        key=attacker,
    )
    code, output = _run(tmp_path, forged)
    assert code == 1
    assert "uses this portal's name" in output


def test_a_did_key_signature_on_a_credential_naming_this_portal_is_invalid(certified, tmp_path):
    """The issue's forgery: our exact issuer id, the attacker's did:key, an unknown person."""
    forged = _forge(certified.document, credentialSubject=_unknown_person(certified.document))
    code, output = _run(tmp_path, forged)
    assert code == 1
    assert "not a key that the issuer" in output


def test_our_key_on_a_credential_we_have_no_record_of_is_invalid(certified, tmp_path):
    """Even with this portal's key, a credential about an unknown person or with an id this
    portal never issued is rejected (e.g. a key leaked from a backup)."""
    ours = signing_key()
    from portal.credentials import verification_method_id

    method = verification_method_id(ours)
    unknown_id = _forge(
        certified.document,
        key=ours,
        method=method,
        id="urn:uuid:" + "1" * 8 + "-1111-1111-1111-" + "1" * 12,
    )
    report = credential_verify(document=unknown_id)
    assert report.codes == {"record"}
    assert "no record" in str(report.errors)
    other_person = _forge(
        certified.document,
        key=ours,
        method=method,
        credentialSubject=_unknown_person(certified.document),
    )
    report = credential_verify(document=other_person)
    assert report.codes == {"record"}
    assert "credentialSubject differs" in str(report.errors)
    longer = _forge(certified.document, key=ours, method=method, validUntil="2099-01-01T00:00:00Z")
    assert credential_verify(document=longer).codes == {"record"}


def test_an_http_issuers_key_is_never_taken_from_the_credential(certified, tmp_path):
    attacker = SigningKey.generate()
    issuer = "https://badges.example.org/issuer"
    forged = _forge(
        certified.document,
        issuer={"id": issuer, "name": "Example Badges"},
        method=f"{issuer}#{attacker.public_multibase}",
        key=attacker,
    )
    code, output = _run(tmp_path, forged)
    assert code == 1
    assert "not available offline" in output

    # With the issuer's saved profile, a key it publishes verifies: valid, but not ours (3).
    profile = {
        "id": issuer,
        "name": "Example Badges",
        "verificationMethod": [
            {
                "id": f"{issuer}#{attacker.public_multibase}",
                "type": "Multikey",
                "controller": issuer,
                "publicKeyMultibase": attacker.public_multibase,
            }
        ],
    }
    saved = tmp_path / "profile.json"
    saved.write_text(json.dumps(profile))
    code, output = _run(tmp_path, forged, "--issuer-doc", str(saved))
    assert code == 3, output
    assert f"Example Badges <{issuer}>: NOT this portal" in output
    assert "issued by another issuer" in output

    # A profile that does not list the method's key does not vouch for it.
    profile["verificationMethod"][0]["publicKeyMultibase"] = SigningKey.generate().public_multibase
    saved.write_text(json.dumps(profile))
    code, output = _run(tmp_path, forged, "--issuer-doc", str(saved))
    assert code == 1 and "not a key that the issuer" in output


def test_a_saved_profile_cannot_claim_this_portal(certified, tmp_path):
    attacker = SigningKey.generate()
    method = f"{issuer_id()}#{attacker.public_multibase}"
    forged = _forge(certified.document, method=method, key=attacker)
    profile = {
        "id": issuer_id(),
        "verificationMethod": [
            {
                "id": method,
                "controller": issuer_id(),
                "publicKeyMultibase": attacker.public_multibase,
            }
        ],
    }
    saved = tmp_path / "profile.json"
    saved.write_text(json.dumps(profile))
    code, output = _run(tmp_path, forged, "--issuer-doc", str(saved))
    assert code == 1 and "not a key that the issuer" in output


def test_a_did_key_issuer_is_its_own_key(certified, tmp_path):
    issuer_key = SigningKey.generate()
    did = f"did:key:{issuer_key.public_multibase}"
    document = _forge(
        certified.document,
        issuer={"id": did, "name": "Self-issued"},
        key=issuer_key,
        method=f"{did}#{issuer_key.public_multibase}",
    )
    code, output = _run(tmp_path, document)
    assert code == 3, output
    assert f"Self-issued <{did}>: NOT this portal" in output

    # Another did:key cannot sign for it.
    forged = _forge(certified.document, issuer={"id": did, "name": "Self-issued"})
    code, output = _run(tmp_path, forged)
    assert code == 1 and "is not the key of the did:key issuer" in output


def test_our_credential_names_this_portal_and_exits_0(certified, tmp_path):
    code, output = _run(tmp_path, certified.document)
    assert code == 0
    assert f"<{issuer_id()}>: this portal" in output
    assert "(issued by this portal)" in output
    code, output = _run(tmp_path, certified.document, "--json")
    report = json.loads(output)
    assert report["verdict"] == "valid" and report["issuerIsThisPortal"] is True

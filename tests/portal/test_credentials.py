"""Credentials: verification page, revocation, renewal, Open Badges 3.0 signing and checking."""

import copy
import hashlib
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from portal.credentials import credential_revoke, credential_verify, issuer_document
from portal.models import Credential


def test_verification_page_shows_valid_then_revoked_then_expired(client, certified, people):
    url = reverse("portal:credential_verify", args=[certified.pk])
    html = client.get(url).content.decode()  # public: no sign-in
    assert "<strong>Valid</strong>" in html and certified.holder_name in html
    assert f'value="http://testserver{url}"' in html  # the shareable link
    assert reverse("portal:credential_json", args=[certified.pk]) in html
    assert "Revoke this credential" not in html

    credential_revoke(credential=certified, by=people["hr"], reason="Exam misconduct")
    assert "<strong>Revoked</strong>" in client.get(url).content.decode()

    Credential.objects.filter(pk=certified.pk).update(
        revoked_at=None, expires_at=timezone.now() - timedelta(days=1)
    )
    assert "<strong>Expired</strong>" in client.get(url).content.decode()


def test_unknown_credential_is_404(client, db):
    url = reverse("portal:credential_verify", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404


def test_hr_revokes_a_learner_cannot(client, certified, people):
    url = reverse("portal:credential_revoke", args=[certified.pk])
    client.force_login(people["engineer"])
    assert client.post(url, {"reason": "self"}).status_code == 403
    client.force_login(people["hr"])
    page = client.get(reverse("portal:credential_verify", args=[certified.pk])).content.decode()
    assert "Revoke this credential" in page
    response = client.post(url, {"reason": "Exam misconduct"})
    assert response.status_code == 302
    certified.refresh_from_db()
    assert certified.revoked_at is not None and certified.revoked_by == people["hr"]
    listing = client.get(reverse("portal:revocation_list")).json()
    assert listing["revokedCredentials"] == [
        {"id": f"urn:uuid:{certified.pk}", "revoked": True, "revocationReason": "revoked by issuer"}
    ]


def test_credential_json_is_an_open_badge_with_a_data_integrity_proof(client, certified):
    response = client.get(reverse("portal:credential_json", args=[certified.pk]))
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["id"] == f"urn:uuid:{certified.pk}"
    assert document["issuer"]["id"] == "http://testserver/issuer.json"
    assert document["credentialSubject"]["achievement"]["type"] == ["Achievement"]
    assert "alice@example.com" not in response.content.decode()  # the e-mail is hashed
    proof = document["proof"]
    assert (proof["type"], proof["cryptosuite"], proof["proofPurpose"]) == (
        "DataIntegrityProof",
        "eddsa-rdfc-2022",
        "assertionMethod",
    )
    issuer = client.get(reverse("portal:issuer")).json()
    assert proof["verificationMethod"] == issuer["assertionMethod"][0]
    method = issuer["verificationMethod"][0]
    assert method["type"] == "Multikey" and method["publicKeyMultibase"].startswith("z6Mk")


def test_credential_verifies_with_an_independent_implementation(certified, shared_dir):
    """Only cryptography and pyld here, with the contexts read from ../shared: no product code."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from pyld import jsonld

    contexts = shared_dir / "data" / "credentials" / "contexts"
    files = {
        "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-3.0.3.json",
    }

    def loader(url, options=None):
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": json.loads((contexts / files[url]).read_text()),
        }

    def canon(doc):
        return jsonld.normalize(
            doc,
            {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader},
        ).encode()

    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

    def b58(text):
        number = 0
        for char in text:
            number = number * 58 + alphabet.index(char)
        zeros = len(text) - len(text.lstrip("1"))  # each leading '1' is a zero byte
        return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")

    document = copy.deepcopy(certified.document)
    proof = document.pop("proof")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document["@context"]
    data = hashlib.sha256(canon(options)).digest() + hashlib.sha256(canon(document)).digest()
    public_multibase = proof["verificationMethod"].split("#", 1)[1]
    raw = b58(public_multibase[1:])
    assert raw[:2] == b"\xed\x01"
    key = Ed25519PublicKey.from_public_bytes(raw[2:])
    key.verify(b58(proof["proofValue"][1:]), data)  # raises InvalidSignature if wrong

    document["name"] = "Something else"
    with pytest.raises(InvalidSignature):
        key.verify(
            b58(proof["proofValue"][1:]),
            hashlib.sha256(canon(options)).digest() + hashlib.sha256(canon(document)).digest(),
        )


def _write(tmp_path, document, name="credential.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_verify_command_accepts_our_credential(certified, tmp_path):
    out = StringIO()
    call_command("verify_credential", _write(tmp_path, certified.document), stdout=out)
    assert "VALID" in out.getvalue()


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda d: d.update(name="Certified Genius"), "proof"),
        (lambda d: d["credentialSubject"]["achievement"].update(name="Other"), "proof"),
        (lambda d: d.update(validUntil="2099-01-01T00:00:00Z"), "proof"),
        (lambda d: d["proof"].update(proofValue=d["proof"]["proofValue"][:-2] + "zz"), "proof"),
        (lambda d: d.update(extraClaim="x"), "proof"),
    ],
)
def test_verify_command_rejects_tampered_credentials(certified, tmp_path, tamper, reason):
    document = copy.deepcopy(certified.document)
    tamper(document)
    with pytest.raises(CommandError, match=f"INVALID .*{reason}"):
        call_command("verify_credential", _write(tmp_path, document), stdout=StringIO())


def test_verify_rejects_a_credential_signed_with_another_key(certified, settings):
    from portal.openbadges.multibase import SigningKey
    from portal.openbadges.signing import sign

    forger = SigningKey.generate()
    forged = sign(
        certified.document,
        key=forger,
        verification_method=f"http://testserver/issuer.json#{forger.public_multibase}",
        created=timezone.now(),
    )
    report = credential_verify(document=forged)
    assert not report.valid
    assert "not a key that the issuer publishes" in str(report.errors)


def test_verify_command_rejects_revoked_and_expired(certified, people, tmp_path):
    path = _write(tmp_path, certified.document)
    later = timezone.now() + timedelta(days=30 * 25)
    report = credential_verify(document=certified.document, now=later)
    assert report.codes == {"expired"}
    credential_revoke(credential=certified, by=people["hr"], reason="misconduct")
    with pytest.raises(CommandError, match=r"INVALID .*\(revoked\)"):
        call_command("verify_credential", path, stdout=StringIO())


def test_verify_command_reports_unreadable_input(tmp_path, db):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("verify_credential", str(bad), stdout=StringIO())


def test_issuer_document_publishes_the_signing_key(signing_key, db):
    document = issuer_document()
    assert document["verificationMethod"][0]["publicKeyMultibase"] == signing_key.public_multibase
    assert document["verificationMethod"][0]["controller"] == document["id"]
    assert document["type"] == ["Profile"]


def test_our_credential_validates_against_the_1edtech_json_schema(certified, shared_dir):
    """The shared schema is the VC 1.1 flavour (issuanceDate/expirationDate): map the two VC 2.0
    date names onto it; everything else is checked as issued."""
    import jsonschema

    path = shared_dir / "data" / "credentials" / "ob_v3p0_achievementcredential_schema_draft4.json"
    schema = json.loads(path.read_text())
    document = copy.deepcopy(certified.document)
    document["issuanceDate"] = document.pop("validFrom")
    document["expirationDate"] = document.pop("validUntil")
    jsonschema.Draft4Validator(schema).validate(document)

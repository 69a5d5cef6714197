"""`python manage.py verify_credential FILE`: verify an Open Badges 3.0 credential offline."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.credentials import credential_report_lines, credential_verify
from portal.openbadges import verification


def _load(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: the {what} is not JSON ({exc})") from None


def _load_credential(path: str) -> Any:
    """The credential JSON, or the `credential.json` attached to a PDF credential summary."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the credential: {exc.strerror}") from None
    if raw.startswith(b"%PDF"):
        from portal.summaries import summary_json_of_pdf

        try:
            raw = summary_json_of_pdf(raw)
        except Exception as exc:  # pypdf raises many types on a damaged file
            raise CommandError(f"{path}: no readable credential.json in this PDF ({exc})") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"{path}: the credential is not JSON ({exc})") from None


class Command(BaseCommand):
    help = (
        "Verify an Open Badges 3.0 credential (JSON) without the network: structure, dates, "
        "Ed25519 Data Integrity proof (eddsa-rdfc-2022) by a key the issuer controls, and "
        "revocation. Exit status: 0 valid and issued by this portal, 3 valid but issued by "
        "another issuer, 1 invalid (2: bad arguments)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            help="the credential (credential-<id>.json) or a PDF credential summary, whose "
            "attached credential.json is verified",
        )
        parser.add_argument(
            "--issuer-doc",
            action="append",
            default=[],
            help="another issuer's saved profile (verificationMethod with publicKeyMultibase): "
            "the only source of an HTTP(S) issuer's keys",
        )
        parser.add_argument(
            "--status-list",
            action="append",
            default=[],
            help="a saved 1EdTech revocation list for another issuer's credentialStatus",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        document = _load_credential(options["file"])
        report = credential_verify(
            document=document,
            issuer_documents=[_load(p, "issuer document") for p in options["issuer_doc"]],
            revocation_lists=[_load(p, "revocation list") for p in options["status_list"]],
        )
        lines = credential_report_lines(report, source=options["file"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for line in lines[:-1]:
                self.stdout.write(line)
        if report.verdict == verification.VERDICT_INVALID:
            raise CommandError(lines[-1], returncode=report.exit_code)
        if not options["json"]:
            style = self.style.SUCCESS if report.issuer_is_this_portal else self.style.WARNING
            self.stdout.write(style(lines[-1]))
        if report.exit_code:
            raise SystemExit(report.exit_code)

"""`python manage.py ob_keygen`: print a new Ed25519 signing key for OB_SIGNING_KEY."""

from typing import Any

from django.core.management.base import BaseCommand

from portal.openbadges.multibase import SigningKey


class Command(BaseCommand):
    help = "Print a new Open Badges signing key (private, for OB_SIGNING_KEY) and its public key."

    def handle(self, *args: Any, **options: Any) -> None:
        key = SigningKey.generate()
        self.stdout.write(f"OB_SIGNING_KEY={key.to_multibase()}")
        self.stderr.write(f"public key (publicKeyMultibase): {key.public_multibase}")

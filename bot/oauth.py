"""Multi-workspace installs: bolt's installation and OAuth state stores, kept in the database
(several web processes share them; they survive restarts). Modelled on bolt's Django example.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.models import SlackBot, SlackInstallation, SlackOAuthState

STATE_EXPIRATION_SECONDS = 600

_BOT_FIELDS = {f.name for f in SlackBot._meta.get_fields()} - {"id", "client_id"}
_INSTALLATION_FIELDS = {f.name for f in SlackInstallation._meta.get_fields()} - {
    "id",
    "client_id",
}


def oauth_enabled() -> bool:
    return bool(settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET)


def _timestamp(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


class DjangoInstallationStore(InstallationStore):
    def __init__(self, client_id: str, logger: logging.Logger | None = None) -> None:
        self.client_id = client_id
        self._logger = logger or logging.getLogger(__name__)

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def save(self, installation: Installation) -> None:
        values = {k: v for k, v in installation.to_dict().items() if k in _INSTALLATION_FIELDS}
        values["user_id"] = values.get("user_id") or ""
        with transaction.atomic():
            SlackInstallation.objects.create(client_id=self.client_id, **values)
            self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        values = {k: v for k, v in bot.to_dict().items() if k in _BOT_FIELDS}
        SlackBot.objects.create(client_id=self.client_id, **values)

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        if is_enterprise_install:
            team_id = None
        row = (
            SlackBot.objects.filter(
                client_id=self.client_id, enterprise_id=enterprise_id, team_id=team_id
            )
            .order_by("-installed_at", "-id")
            .first()
        )
        if row is None:
            return None
        return Bot(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name,
            team_id=row.team_id,
            team_name=row.team_name,
            bot_token=row.bot_token or "",
            bot_refresh_token=row.bot_refresh_token,
            bot_token_expires_at=_timestamp(row.bot_token_expires_at),
            bot_id=row.bot_id or "",
            bot_user_id=row.bot_user_id or "",
            bot_scopes=row.bot_scopes or "",
            is_enterprise_install=row.is_enterprise_install,
            installed_at=row.installed_at.timestamp(),
        )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        if is_enterprise_install:
            team_id = None
        rows = SlackInstallation.objects.filter(
            client_id=self.client_id, enterprise_id=enterprise_id, team_id=team_id
        )
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        row = rows.order_by("-installed_at", "-id").first()
        if row is None:
            return None
        return Installation(
            app_id=row.app_id,
            enterprise_id=row.enterprise_id,
            enterprise_name=row.enterprise_name,
            enterprise_url=row.enterprise_url,
            team_id=row.team_id,
            team_name=row.team_name,
            bot_token=row.bot_token,
            bot_refresh_token=row.bot_refresh_token,
            bot_token_expires_at=_timestamp(row.bot_token_expires_at),
            bot_id=row.bot_id,
            bot_user_id=row.bot_user_id,
            bot_scopes=row.bot_scopes or "",
            user_id=row.user_id,
            user_token=row.user_token,
            user_refresh_token=row.user_refresh_token,
            user_token_expires_at=_timestamp(row.user_token_expires_at),
            user_scopes=row.user_scopes or "",
            incoming_webhook_url=row.incoming_webhook_url,
            incoming_webhook_channel=row.incoming_webhook_channel,
            incoming_webhook_channel_id=row.incoming_webhook_channel_id,
            incoming_webhook_configuration_url=row.incoming_webhook_configuration_url,
            is_enterprise_install=row.is_enterprise_install,
            token_type=row.token_type,
            installed_at=row.installed_at.timestamp(),
        )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        SlackBot.objects.filter(
            client_id=self.client_id, enterprise_id=enterprise_id, team_id=team_id
        ).delete()

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        rows = SlackInstallation.objects.filter(
            client_id=self.client_id, enterprise_id=enterprise_id, team_id=team_id
        )
        if user_id is not None:
            rows = rows.filter(user_id=user_id)
        rows.delete()


class DjangoOAuthStateStore(OAuthStateStore):
    """A state is valid once (consuming deletes it, so two callbacks cannot both win) and
    only until it expires."""

    def __init__(
        self,
        expiration_seconds: int = STATE_EXPIRATION_SECONDS,
        logger: logging.Logger | None = None,
    ) -> None:
        self.expiration_seconds = expiration_seconds
        self._logger = logger or logging.getLogger(__name__)

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        SlackOAuthState.objects.create(
            state=state, expire_at=timezone.now() + timedelta(seconds=self.expiration_seconds)
        )
        return state

    def consume(self, state: str) -> bool:
        now = timezone.now()
        SlackOAuthState.objects.filter(expire_at__lte=now).delete()
        deleted, _ = SlackOAuthState.objects.filter(state=state or "", expire_at__gt=now).delete()
        return deleted > 0


def oauth_settings(logger: logging.Logger) -> OAuthSettings:
    """OAuth for multi-workspace installs: /slack/install redirects straight to Slack's
    authorize page; /slack/oauth_redirect exchanges the code and stores the install."""
    return OAuthSettings(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        scopes=list(settings.SLACK_SCOPES),
        installation_store=DjangoInstallationStore(settings.SLACK_CLIENT_ID, logger=logger),
        state_store=DjangoOAuthStateStore(STATE_EXPIRATION_SECONDS, logger=logger),
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,
        install_page_rendering_enabled=False,
        logger=logger,
    )

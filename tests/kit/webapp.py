"""The web app as a test drives it: the secrets it is configured with and its settings."""

from __future__ import annotations

from pathlib import Path

from leoweb_bot.config import Settings
from leoweb_bot.config import settings_from_mapping

SECRET = "tg-secret_123"
AMO_SECRET = "amo-secret_456"
URL = "/telegram/webhook"


def make_settings(state_path: Path, amo_secret: str = AMO_SECRET) -> Settings:
    return settings_from_mapping(
        {
            "telegram": {"token": "123456:ABCdef", "webhook_secret": SECRET},
            "amocrm": {"webhook_secret": amo_secret},
            "bot": {"state_path": str(state_path)},
        }
    )

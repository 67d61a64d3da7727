"""Arguments for ``leoweb-bot init`` as argparse would build them, for the init tests."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

BOT_TOKEN = "123456789:AAFakeBotTokenForInitTests_abcdefghij"
AMO_TOKEN = "eyJhbGciOiJSUzI1NiJ9.long-lived-token-for-tests"


def init_args(output: Path, **flags: Any) -> argparse.Namespace:
    defaults: dict[str, Any] = {
        "output": str(output),
        "config": None,
        "telegram_token": None,
        "amocrm_url": None,
        "auth": None,
        "amocrm_token": None,
        "timezone": None,
        "public_url": None,
        "force": False,
        "no_input": True,
    }
    return argparse.Namespace(**{**defaults, **flags})


def full_args(output: Path, **flags: Any) -> argparse.Namespace:
    return init_args(
        output,
        telegram_token=BOT_TOKEN,
        amocrm_url="https://leogroup.amocrm.ru",
        amocrm_token=AMO_TOKEN,
        public_url="https://bot.example.com",
        **flags,
    )

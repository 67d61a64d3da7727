"""One config value: how it is read from TOML or the environment, and the rule it must follow.

Each key has one rule, used wherever the value is read: a time of day is the same in
``digest.time`` and in ``/subscribe 9:00``, a URL must be https unless it points at this machine,
a whole number is never truncated.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

TIME_RE = re.compile(r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])")  # ASCII: \d takes any script's digits
# Telegram delivers webhooks to these ports only (https://core.telegram.org/bots/api#setwebhook).
WEBHOOK_PORTS = (443, 80, 88, 8443)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the key in one line."""


SECRET = {"secret": True}  # field metadata: the one list of which keys hold secrets


def secret_field() -> Any:
    """A key whose value is never shown: masked in repr, never echoed, scrubbed from logs."""
    return field(default="", metadata=SECRET)


def _mask(value: str) -> str:
    return "***" if value else "''"


def masked_repr(self: object) -> str:
    """A settings section's repr, with every secret key masked."""
    parts = []
    for f in dataclasses.fields(self):  # type: ignore[arg-type]
        value = getattr(self, f.name)
        shown = _mask(value) if f.metadata.get("secret") else repr(value)
        parts.append(f"{f.name}={shown}")
    return f"{type(self).__name__}({', '.join(parts)})"


def parse_time(text: str) -> str | None:
    """``9:00``, ``09:00`` or ``9.00`` → ``09:00``; None for anything else.

    The one rule for a time of day, in the config and in chat (`/subscribe 9:00`).
    """
    match = TIME_RE.fullmatch(text.strip())
    return f"{int(match.group(1)):02d}:{match.group(2)}" if match else None


def quiet_hours(spec: str) -> tuple[str, str] | None:
    """``"21:00-9:00"`` → ("21:00", "09:00"); None unless both ends are times."""
    start, _, end = spec.partition("-")
    begins, ends = parse_time(start), parse_time(end)
    return (begins, ends) if begins and ends else None


# One DNS name: dot-separated labels of letters, digits and inner hyphens (RFC 1123).
HOSTNAME_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
EXAMPLE_URLS = {"amocrm.base_url": "https://SUBDOMAIN.amocrm.ru"}


def check_url(key: str, url: str) -> None:
    """An address with a real host: https://, or http:// to this machine only (the sandbox, a
    local Bot API server)."""
    scheme, host = _scheme_and_host(url)
    if scheme not in ("http", "https") or not _is_host(host):
        example = EXAMPLE_URLS.get(key, "https://HOST")
        raise ConfigError(f"{key}: not an address like {example}, got {url!r}")
    if scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"{key}: must start with https:// (http:// only on this machine: 127.0.0.1, "
            f"localhost), got {url!r}"
        )


def _scheme_and_host(url: str) -> tuple[str, str]:
    """``("https", "leogroup.amocrm.ru")``; empty strings when ``url`` does not parse."""
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # .port also raises ValueError for a non-number or above 65535
            return "", ""
    except ValueError:
        return "", ""
    return parts.scheme, parts.hostname or ""


def _is_host(host: str) -> bool:
    return bool(HOSTNAME_RE.match(host)) or _ip(host) is not None


def _is_loopback(host: str) -> bool:
    ip = _ip(host)
    return host == "localhost" or (ip is not None and ip.is_loopback)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_public_url(url: str) -> None:
    """The address Telegram posts the webhook to: HTTPS on a port Telegram delivers to."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            "telegram.public_url: must be the bot's https:// address (Telegram calls only HTTPS)"
        )
    if parts.port is not None and parts.port not in WEBHOOK_PORTS:
        raise ConfigError(
            "telegram.public_url: Telegram sends webhooks only to ports 443, 80, 88 or 8443"
        )


def coerce(key: str, kind: Any, value: Any) -> Any:
    """``value`` as a settings field of type ``kind`` (the real type, as
    ``typing.get_type_hints`` gives it); ConfigError naming ``key``."""
    return _READERS[kind](key, value)


def _as_text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{key}: must be a string")
    return str(value).strip()


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key}: must be true or false, got {value!r}")


def _as_number(key: str, value: Any, kind: type) -> int | float:
    """A non-negative number; ``int`` keys take whole numbers only (``12.5`` is not 12)."""
    whole = kind is int
    wanted = "a whole number" if whole else "a number"
    if isinstance(value, bool) or (whole and isinstance(value, float)):
        raise ConfigError(f"{key}: must be {wanted}, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: must be {wanted}, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{key}: must not be negative")
    return number


def _as_ids(key: str, value: Any) -> Iterable[int]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: must be a list of Telegram user ids")
    for item in value:
        yield int(_as_number(key, item, int))


def _as_manager_map(key: str, value: Any) -> dict[int, int]:
    if isinstance(value, str):  # env form: "123456789=1387123,987654321=1387124"
        pairs = [part.split("=", 1) for part in re.split(r"[,\s]+", value) if part]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigError(f"{key}: use TELEGRAM_ID=AMOCRM_USER_ID pairs")
        value = dict(pairs)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: must be a table of telegram_id = amocrm_user_id")
    return {
        int(_as_number(key, tg, int)): int(_as_number(key, amo, int)) for tg, amo in value.items()
    }


_READERS: dict[Any, Callable[[str, Any], Any]] = {
    str: _as_text,
    bool: _as_bool,
    int: lambda key, value: _as_number(key, value, int),
    float: lambda key, value: _as_number(key, value, float),
    tuple[int, ...]: lambda key, value: tuple(_as_ids(key, value)),
    Mapping[int, int]: _as_manager_map,
}

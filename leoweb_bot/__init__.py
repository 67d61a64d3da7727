"""LeoWeb_bot: amoCRM in Telegram."""

__version__ = "0.1.0"

"""Telegram: the Bot API client (the only code that calls it) and reading raw updates.

May import: the standard library, ``requests``, ``telebot`` (types, ``util``), ``config``, ``logs``
and ``pacing``. Never amoCRM, the state db or the bot's screens. Facts: docs/telegram.md.
"""

"""The state database: everything that must survive a restart, in one SQLite file.

Schema and migrations, the inbox, OAuth tokens, subscriptions, logs, the mirror of amoCRM and
the sync's place in it (mirror.py, progress.py), and its health. May import only the standard
library, ``config`` and ``ids``: never amoCRM, Telegram, the bot or the service, so any of them
can use it.
"""

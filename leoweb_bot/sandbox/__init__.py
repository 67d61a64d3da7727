"""Built-in amoCRM emulator with deterministic demo data: run the whole bot without an account.

``Sandbox`` serves API v4, legacy v2 and OAuth2 with amoCRM's quirks and faults (see
server.py); ``generate`` builds its demo data (data.py). ``Sandbox.ui`` changes the data as a
person in amoCRM's web UI would (ui.py, also over HTTP under ``/_sandbox/ui/``); every change
lands in the events list and, given a webhook URL, goes out as amoCRM's webhook. Importing
this package starts nothing: no threads, sockets or environment reads until
``Sandbox.start()`` (or, with a webhook URL, the first change).

May import only the standard library, Flask, ``leoweb_bot.ids`` and ``leoweb_bot.forms``: it
stands alone, as amoCRM does. Only ``cli`` (and tests) import it.
"""

from leoweb_bot.sandbox.auth import Credentials
from leoweb_bot.sandbox.data import DemoData
from leoweb_bot.sandbox.data import generate
from leoweb_bot.sandbox.server import Sandbox
from leoweb_bot.sandbox.server import run_sandbox

__all__ = ["Credentials", "DemoData", "Sandbox", "generate", "run_sandbox"]

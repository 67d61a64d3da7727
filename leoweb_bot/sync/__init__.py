"""The local mirror of amoCRM: bootstrap, incremental sync, webhooks, reconcile, and the reads
the screens make of it (docs/architecture.md#sync, facts in docs/amocrm.md#incremental-sync).

One process per server syncs (a lease in the state db), a step at a time (engine.py): full
scans (scan.py), incremental cycles and webhook re-reads (changes.py). Every process reads:
``MirroredClient`` (reader.py) is the bot's amoCRM, with the screens' reads from the mirror.
wiring.py builds the parts for a process; nothing starts on import.

May import: the standard library, ``amocrm``, ``state``, ``reports`` (time helpers), ``config``
and ``pacing``. Never ``bot``, ``telegram``, ``proactive``, ``service`` or ``cli``: they use it.
"""

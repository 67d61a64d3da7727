"""The bot itself: what a person sees and does. Start at ``table.py`` (every command, declared
once); ``router.py`` takes one update to its handler (``commands.py``, ``buttons.py`` through the
button codec ``codec.py``); handlers show ``screens.py`` rendered by ``views.py`` from the
strings in ``texts.py``; ``context.py`` is what they all work in. Who has access is
``members.py`` (the config and the state db); letting people in and out is ``invites.py``,
``joining.py`` and ``people.py``.

May import: ``amocrm``, ``telegram``, ``state``, ``proactive`` (digest subscriptions),
``charts`` (the pictures it sends), ``sync`` (the mirror's freshness and 🔄), ``access``,
``reports``, ``config``, ``ids``. Never ``service``, ``cli`` or the sandbox, and no HTTP of its
own (``requests``, Flask): it talks to the world through the two clients.
"""

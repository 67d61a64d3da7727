"""The bot itself: commands, buttons, screens, views and texts; what a person sees and does.

May import: ``amocrm``, ``telegram``, ``state``, ``proactive`` (digest subscriptions),
``sync`` (the mirror's freshness and 🔄), ``access``, ``reports``, ``config``, ``ids``. Never
``service``, ``cli`` or the sandbox, and no HTTP of its own (``requests``, Flask): it talks to
the world through the two clients.
"""

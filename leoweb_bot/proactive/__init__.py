"""What the bot does unasked: the scheduler and its jobs (digests, overdue alerts, new-lead
notices, OAuth keep-alive, admin incidents, retention, the daily snapshot behind the trend).

May import: ``bot`` (screens and texts it sends), ``amocrm``, ``telegram``, ``state``, ``sync``
(the alerts read the mirror's delta) and the domain modules. Never ``service``, ``cli`` or the sandbox.
"""

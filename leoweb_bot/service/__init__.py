"""The running server: the Flask web adapter, the dispatcher threads, the gunicorn wiring and
its worker class. The only place that wires every component together for ``serve``/``poll``.

May import everything but ``cli`` and the sandbox; ``service.web`` imports neither amoCRM nor
the bot (it only verifies, stores and acknowledges).
"""

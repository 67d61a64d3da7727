"""``leoweb-bot``: the command line. ``main`` parses arguments and is the one place a failure
becomes one line and an exit status; one module per command group (check, init, demo with its
terminal chat, webhook).

May import everything, the sandbox included (``demo``, ``report --sandbox``, ``sandbox``).
"""

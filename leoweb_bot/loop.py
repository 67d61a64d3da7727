"""A thread that works in turns: ``turn()`` runs, returns how long to wait, and ``wake()`` cuts
the wait short. The scheduler and the sync each run one per process, started after fork (never
on import: importing starts no thread). Standard library only, so any package may use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Loop:
    def __init__(self, name: str, turn: Callable[[], float]) -> None:
        self.name = name
        self._turn = turn
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Let the current turn finish and stop; True if the thread ended in time."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def wake(self) -> None:
        """Take the next turn now instead of after the current wait."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before the turn, so a wake() during it means one more turn
            wait = self._turn()
            if wait > 0:
                self._wake.wait(wait)

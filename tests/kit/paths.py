"""Where the repository is, for tests that read its files (README, deploy/, demo/) or run it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

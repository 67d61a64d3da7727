"""One change to a stored entity, as the store reports it to the events log and the webhooks.

The store swaps whole dicts and never edits one in place, so ``before`` and ``after`` are
snapshots that stay true while the events log and the webhook renderer read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Change:
    kind: str  # the v4 collection: "tasks" or "leads"
    before: Json | None  # None: the entity was added
    after: Json | None  # None: the entity was deleted
    by: int  # the user who made it
    at: int  # Unix seconds on the sandbox's clock

    @property
    def entity(self) -> Json:
        """The entity as it now is, or as it was when deleted."""
        row = self.after if self.after is not None else self.before
        if row is None:
            raise ValueError("a change has a before, an after, or both")
        return row

    def moved(self, *fields: str) -> bool:
        """Whether any of ``fields`` differs between an existing entity's two snapshots."""
        if self.before is None or self.after is None:
            return False
        return any(self.before[field] != self.after[field] for field in fields)

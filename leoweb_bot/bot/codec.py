"""Button data: what every inline button carries in ``callback_data``, written and read here only.

A button is one of the small types below; :func:`encode` writes it and :func:`decode` reads it
back. Telegram returns the data of a pressed button as it was sent, at most 64 bytes
(docs/telegram.md#buttons-and-callbacks), and buttons stay in chats across releases: so the data
starts with :data:`VERSION`, and data of another version (or none) is :class:`Outdated`, which
the presser is told, rather than a button doing something else than it said. Change
:data:`VERSION` whenever a layout changes.

Layout: ``v1:<code>:<ids…>``. A task's buttons end with the list they were pressed on, so the
list can be shown again after the task is closed: ``v1:tc:5000123:rm:1387123:0``; under 55 bytes
even with 18-digit ids. Nothing here is trusted: whoever presses is checked in ``buttons.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields
from typing import ClassVar

from leoweb_bot.ids import parse_id

VERSION = "v1"
MAX_BYTES = 64


class Outdated(ValueError):
    """Data this version of the bot did not write: an old button, or a forged one."""


@dataclass(frozen=True)
class ReportSummary:
    """🔄 / ⬆ on the overdue report: the summary per manager."""

    code: ClassVar[str] = "rr"


@dataclass(frozen=True)
class Refresh:
    """🔄: ask the sync for fresh data first, then show ``screen`` again
    (docs/architecture.md#sync)."""

    code: ClassVar[str] = "rf"
    screen: Button


@dataclass(frozen=True)
class ManagerPage:
    """A page of one manager's overdue tasks."""

    code: ClassVar[str] = "rm"
    user: int  # amoCRM user id
    page: int


@dataclass(frozen=True)
class MyTasksPage:
    """A page of /mytasks."""

    code: ClassVar[str] = "mt"
    user: int
    page: int


@dataclass(frozen=True)
class LeadCard:
    """A search result: that lead's card as a new message."""

    code: ClassVar[str] = "ld"
    lead: int


@dataclass(frozen=True)
class LeadRefresh:
    """🔄 on a lead card: the card again, in place."""

    code: ClassVar[str] = "lr"
    lead: int


# -- pictures and the team scorecard (pictures.py, team.py) ----------------------------------


@dataclass(frozen=True)
class OverdueChart:
    """📊 under the report summary: the overdue chart as a new photo."""

    code: ClassVar[str] = "ch"


@dataclass(frozen=True)
class TrendChart:
    """📈 under the overdue chart: the last 8 weeks as a new photo."""

    code: ClassVar[str] = "ct"


@dataclass(frozen=True)
class TeamCard:
    """🔄 / ⬆ on the team scorecard: the scorecard again, in place."""

    code: ClassVar[str] = "tm"


@dataclass(frozen=True)
class IdleLeads:
    """A number of "leads without a task" on the scorecard: those leads of that manager."""

    code: ClassVar[str] = "il"
    user: int  # amoCRM user id


TaskList = ManagerPage | MyTasksPage | LeadRefresh  # the screens a ✅ can be pressed on


@dataclass(frozen=True)
class AskClose:
    """✅ on a task: ask before closing it."""

    code: ClassVar[str] = "td"
    task: int
    back: TaskList | None = None  # the list to show again; None outside a list (an alert)


@dataclass(frozen=True)
class Close:
    """«Закрыть»: close the task with the default result."""

    code: ClassVar[str] = "tc"
    task: int
    back: TaskList | None = None


@dataclass(frozen=True)
class CloseWithResult:
    """«Закрыть с результатом…»: wait for the result as the next message."""

    code: ClassVar[str] = "tr"
    task: int
    back: TaskList | None = None


@dataclass(frozen=True)
class CancelClose:
    """«Отмена»: close nothing, show the list again."""

    code: ClassVar[str] = "tx"
    back: TaskList | None = None


# -- people: invites (bot/invites.py), join requests (joining.py), /people (people.py) -------


@dataclass(frozen=True)
class InviteManager:
    """/invite, «Менеджера…»: pick the amoCRM user first."""

    code: ClassVar[str] = "im"


@dataclass(frozen=True)
class InviteUser:
    """An invite link for a manager who is this amoCRM user."""

    code: ClassVar[str] = "iu"
    user: int


@dataclass(frozen=True)
class InviteDirector:
    code: ClassVar[str] = "id"


@dataclass(frozen=True)
class InviteAdmin:
    code: ClassVar[str] = "ia"


@dataclass(frozen=True)
class RevokeInvite:
    code: ClassVar[str] = "ir"
    invite: int


@dataclass(frozen=True)
class RequestCard:
    """A join request's card (again, or first shown from /people)."""

    code: ClassVar[str] = "qc"
    request: int


@dataclass(frozen=True)
class PickManager:
    """«Менеджер…» on a request: pick the amoCRM user."""

    code: ClassVar[str] = "qm"
    request: int


@dataclass(frozen=True)
class AcceptManager:
    code: ClassVar[str] = "qu"
    request: int
    user: int


@dataclass(frozen=True)
class AcceptDirector:
    code: ClassVar[str] = "qd"
    request: int


@dataclass(frozen=True)
class Decline:
    code: ClassVar[str] = "qx"
    request: int


@dataclass(frozen=True)
class PeopleList:
    """/people again, in place."""

    code: ClassVar[str] = "pl"


@dataclass(frozen=True)
class PersonCard:
    """One member: their role and what can be done about it."""

    code: ClassVar[str] = "pc"
    member: int  # Telegram id


@dataclass(frozen=True)
class PickUser:
    """Make a member a manager, or relink one: pick the amoCRM user."""

    code: ClassVar[str] = "pm"
    member: int


@dataclass(frozen=True)
class LinkUser:
    code: ClassVar[str] = "pu"
    member: int
    user: int


@dataclass(frozen=True)
class MakeDirector:
    code: ClassVar[str] = "pd"
    member: int


@dataclass(frozen=True)
class MakeAdmin:
    code: ClassVar[str] = "pa"
    member: int


@dataclass(frozen=True)
class AskRemove:
    code: ClassVar[str] = "pr"
    member: int


@dataclass(frozen=True)
class Remove:
    code: ClassVar[str] = "px"
    member: int


PeopleButton = (
    InviteManager | InviteUser | InviteDirector | InviteAdmin | RevokeInvite | RequestCard
    | PickManager | AcceptManager | AcceptDirector | Decline | PeopleList | PersonCard | PickUser
    | LinkUser | MakeDirector | MakeAdmin | AskRemove | Remove
)  # fmt: skip
_PEOPLE = (InviteManager, InviteUser, InviteDirector, InviteAdmin, RevokeInvite, RequestCard,
           PickManager, AcceptManager, AcceptDirector, Decline, PeopleList, PersonCard, PickUser,
           LinkUser, MakeDirector, MakeAdmin, AskRemove, Remove)  # fmt: skip

# -- all buttons ------------------------------------------------------------------------------

Button = (
    ReportSummary | ManagerPage | MyTasksPage | LeadCard | LeadRefresh | AskClose | Close
    | CloseWithResult | CancelClose | OverdueChart | TrendChart | TeamCard | IdleLeads
    | PeopleButton | Refresh
)  # fmt: skip
_BUTTONS: dict[str, type[Button]] = {
    kind.code: kind
    for kind in (ReportSummary, ManagerPage, MyTasksPage, LeadCard, LeadRefresh, AskClose, Close,
                 CloseWithResult, CancelClose, OverdueChart, TrendChart, TeamCard, IdleLeads,
                 Refresh, *_PEOPLE)
}  # fmt: skip
_LISTS: dict[str, type[TaskList]] = {k.code: k for k in (ManagerPage, MyTasksPage, LeadRefresh)}


def encode(button: Button) -> str:
    """The ``callback_data`` of a button; ValueError if it would not fit Telegram's 64 bytes."""
    data = ":".join([VERSION, *_parts(button)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
    return data


def decode(data: str) -> Button:
    """The button a pressed ``callback_data`` stands for; :class:`Outdated` if none of ours."""
    version, *parts = data.split(":")
    if version != VERSION:
        raise Outdated(data)
    button, rest = _read(parts, _BUTTONS)
    if rest:
        raise Outdated(data)
    return button


def _parts(button: Button) -> list[str]:
    parts = [button.code]
    for item in fields(button):
        value = getattr(button, item.name)
        if item.name in ("back", "screen"):
            parts += _parts(value) if value is not None else []
        else:
            parts.append(str(value))
    return parts


def _read(parts: list[str], kinds: Mapping[str, type[Button]]) -> tuple[Button, list[str]]:
    """The button at the start of ``parts`` and the parts after it."""
    kind = kinds.get(parts[0]) if parts else None
    if kind is None:
        raise Outdated(":".join(parts))
    parts, values = parts[1:], {}
    for item in fields(kind):
        if item.name == "back":
            values["back"], parts = _read(parts, _LISTS) if parts else (None, parts)
        elif item.name == "screen":
            values["screen"], parts = _read(parts, _BUTTONS)
        elif parts and (number := parse_id(parts[0])) is not None:
            values[item.name], parts = number, parts[1:]
        else:
            raise Outdated(":".join(parts))
    return kind(**values), parts

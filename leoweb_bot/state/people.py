"""People let in through the bot: members, invite links and join requests.

Owns ``members`` (who has which role, since when, by whom), ``invites`` (single-use links; the
token is kept only as its SHA-256), ``join_requests`` (a stranger's /start, waiting for a
director) and ``join_cards`` (where each director's card of a request is). The people of
``[access]`` in the config are not here: the bot layer (bot/members.py) puts both together.

Every change that must happen once is one statement or one ``BEGIN IMMEDIATE`` transaction: an
invite is used once, the first decision on a request wins, the last admin stays. Roles are
stored as the strings of ``access.Role`` (this package may not import it).
"""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass

from leoweb_bot.state.db import Database

ADMIN = "admin"  # the role whose last holder cannot leave
_MEMBER = "telegram_id, role, amocrm_user_id, name, username, since, added_by"
_INVITE = "id, role, amocrm_user_id, created_by, created_at, expires_at, status, used_by"
_REQUEST = (
    "id, telegram_id, name, username, asked_at, status, decided_by, decided_at, role,"
    " amocrm_user_id"
)


class InviteStatus(enum.StrEnum):
    OPEN = "open"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"  # never stored: an open invite past its ``expires_at``
    UNKNOWN = "unknown"  # never stored: no invite has that token (mistyped or forged)


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LAPSED = "lapsed"  # nobody decided in time: no longer counts against the cap


class Asked(enum.StrEnum):
    """What became of a stranger's request to join."""

    OPENED = "opened"  # a new request: the directors are to be told
    WAITING = "waiting"  # this person's request is already open
    DECLINED = "declined"  # declined less than a retry period ago
    FULL = "full"  # too many open requests: a flood must not reach the directors


@dataclass(frozen=True)
class Member:
    telegram_id: int
    role: str
    amocrm_user_id: int | None
    name: str
    username: str
    since: float  # when this role (or link) was given
    added_by: int | None


@dataclass(frozen=True)
class Invite:
    id: int
    role: str
    amocrm_user_id: int | None
    created_by: int
    created_at: float
    expires_at: float
    status: InviteStatus
    used_by: int | None


@dataclass(frozen=True)
class JoinRequest:
    id: int
    telegram_id: int
    name: str
    username: str
    asked_at: float
    status: RequestStatus
    decided_by: int | None
    decided_at: float | None
    role: str | None  # the role given; None while open or when declined
    amocrm_user_id: int | None


# -- members ----------------------------------------------------------------------------------


def members(db: Database) -> list[Member]:
    return [Member(*row) for row in db.query(f"SELECT {_MEMBER} FROM members ORDER BY since")]


def member(db: Database, telegram_id: int) -> Member | None:
    rows = db.query(f"SELECT {_MEMBER} FROM members WHERE telegram_id = ?", (telegram_id,))
    return Member(*rows[0]) if rows else None


def put_member(conn: sqlite3.Connection, new: Member) -> None:
    """Give someone a role (or a new one), inside the caller's transaction."""
    conn.execute(
        f"INSERT INTO members ({_MEMBER}) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (telegram_id) DO UPDATE SET role = excluded.role,"
        " amocrm_user_id = excluded.amocrm_user_id, name = excluded.name,"
        " username = excluded.username, since = excluded.since, added_by = excluded.added_by",
        (new.telegram_id, new.role, new.amocrm_user_id, new.name, new.username, new.since,
         new.added_by),
    )  # fmt: skip


def change_member(db: Database, changed: Member, config_admins: int) -> bool:
    """Give a member a new role or amoCRM user; False if they are gone, or are the last admin
    (``config_admins`` counts the admins of the config) and would stop being one."""
    with db.transaction() as conn:
        if not _may_leave(conn, changed.telegram_id, changed.role, config_admins):
            return False
        put_member(conn, changed)
        return True


def remove_member(db: Database, telegram_id: int, config_admins: int) -> Member | None:
    """Take someone's access away; None if they are not a member or are the last admin."""
    with db.transaction() as conn:
        rows = conn.execute(
            f"SELECT {_MEMBER} FROM members WHERE telegram_id = ?", (telegram_id,)
        ).fetchall()
        if not rows or not _may_leave(conn, telegram_id, None, config_admins):
            return None
        conn.execute("DELETE FROM members WHERE telegram_id = ?", (telegram_id,))
        return Member(*rows[0])


def _may_leave(conn: sqlite3.Connection, telegram_id: int, role: str | None, others: int) -> bool:
    """Whether a member may end up with ``role`` (None: no role): never the last admin leaving."""
    current = conn.execute("SELECT role FROM members WHERE telegram_id = ?", (telegram_id,))
    row = current.fetchone()
    if row is None:
        return False
    if row[0] != ADMIN or role == ADMIN:
        return True
    admins = conn.execute("SELECT COUNT(*) FROM members WHERE role = ?", (ADMIN,)).fetchone()[0]
    return others + admins > 1


# -- invites ----------------------------------------------------------------------------------


def create_invite(
    db: Database, token_hash: str, role: str, amocrm_user_id: int | None, by: int,
    now: float, expires_at: float,
) -> int:  # fmt: skip
    cursor = db.write(
        "INSERT INTO invites (token_hash, role, amocrm_user_id, created_by, created_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (token_hash, role, amocrm_user_id, by, now, expires_at),
    )
    return int(cursor.lastrowid or 0)


def invite(db: Database, invite_id: int) -> Invite | None:
    rows = db.query(f"SELECT {_INVITE} FROM invites WHERE id = ?", (invite_id,))
    return _invite(rows[0]) if rows else None


def open_invites(db: Database, now: float) -> list[Invite]:
    rows = db.query(
        f"SELECT {_INVITE} FROM invites WHERE status = ? AND expires_at > ? ORDER BY id",
        (InviteStatus.OPEN, now),
    )
    return [_invite(row) for row in rows]


def revoke_invite(db: Database, invite_id: int, now: float) -> bool:
    """Revoke an open invite; False if it was used or revoked already."""
    cursor = db.write(
        "UPDATE invites SET status = ?, closed_at = ? WHERE id = ? AND status = ?",
        (InviteStatus.REVOKED, now, invite_id, InviteStatus.OPEN),
    )
    return cursor.rowcount == 1


def redeem_invite(
    db: Database, token_hash: str, joiner: Member
) -> tuple[InviteStatus, Invite | None]:
    """Use the invite with this token for ``joiner`` (whose role and amoCRM user are taken from
    the invite): OPEN if it let them in, else why not. Once only, whoever tries at once."""
    with db.transaction() as conn:
        rows = conn.execute(
            f"SELECT {_INVITE} FROM invites WHERE token_hash = ?", (token_hash,)
        ).fetchall()
        if not rows:
            return InviteStatus.UNKNOWN, None
        found = _invite(rows[0])
        if found.status is not InviteStatus.OPEN:
            return found.status, found
        if found.expires_at <= joiner.since:
            return InviteStatus.EXPIRED, found
        conn.execute(
            "UPDATE invites SET status = ?, used_by = ?, closed_at = ? WHERE id = ?",
            (InviteStatus.USED, joiner.telegram_id, joiner.since, found.id),
        )
        added_by = found.created_by
        put_member(conn, Member(joiner.telegram_id, found.role, found.amocrm_user_id,
                                joiner.name, joiner.username, joiner.since, added_by))  # fmt: skip
        return InviteStatus.OPEN, found


def _invite(row: tuple[object, ...]) -> Invite:
    values = list(row)
    values[6] = InviteStatus(values[6])
    return Invite(*values)  # type: ignore[arg-type]


# -- join requests ----------------------------------------------------------------------------


def ask_to_join(
    db: Database, asker: Member, *, cap: int, lapse_before: float, retry_before: float
) -> tuple[Asked, JoinRequest | None]:
    """Open a request for ``asker`` (their name and ``since`` as the time asked), unless theirs
    is open, they were declined after ``retry_before``, or ``cap`` requests are open. Requests
    asked before ``lapse_before`` lapse first: nobody decided them in time."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE join_requests SET status = ? WHERE status = ? AND asked_at < ?",
            (RequestStatus.LAPSED, RequestStatus.OPEN, lapse_before),
        )
        mine = conn.execute(
            f"SELECT {_REQUEST} FROM join_requests WHERE telegram_id = ? ORDER BY id DESC LIMIT 1",
            (asker.telegram_id,),
        ).fetchall()
        last = _request(mine[0]) if mine else None
        if last and last.status is RequestStatus.OPEN:
            return Asked.WAITING, last
        if last and last.status is RequestStatus.DECLINED and (last.decided_at or 0) > retry_before:
            return Asked.DECLINED, last
        waiting = conn.execute(
            "SELECT COUNT(*) FROM join_requests WHERE status = ?", (RequestStatus.OPEN,)
        ).fetchone()[0]
        if waiting >= cap:
            return Asked.FULL, None
        cursor = conn.execute(
            "INSERT INTO join_requests (telegram_id, name, username, asked_at) VALUES (?, ?, ?, ?)",
            (asker.telegram_id, asker.name, asker.username, asker.since),
        )
        asked = JoinRequest(int(cursor.lastrowid or 0), asker.telegram_id, asker.name,
                            asker.username, asker.since, RequestStatus.OPEN, None, None, None,
                            None)  # fmt: skip
        return Asked.OPENED, asked


def join_request(db: Database, request_id: int) -> JoinRequest | None:
    rows = db.query(f"SELECT {_REQUEST} FROM join_requests WHERE id = ?", (request_id,))
    return _request(rows[0]) if rows else None


def open_requests(db: Database) -> list[JoinRequest]:
    rows = db.query(
        f"SELECT {_REQUEST} FROM join_requests WHERE status = ? ORDER BY id",
        (RequestStatus.OPEN,),
    )
    return [_request(row) for row in rows]


def decide_request(
    db: Database, request_id: int, grant: Member | None, by: int, now: float
) -> bool:
    """Accept an open request with ``grant`` (the role to give) or decline it (None). Only the
    first decision counts: False when someone decided it already."""
    status = RequestStatus.ACCEPTED if grant else RequestStatus.DECLINED
    with db.transaction() as conn:
        cursor = conn.execute(
            "UPDATE join_requests SET status = ?, decided_by = ?, decided_at = ?, role = ?,"
            " amocrm_user_id = ? WHERE id = ? AND status = ?",
            (status, by, now, grant.role if grant else None,
             grant.amocrm_user_id if grant else None, request_id, RequestStatus.OPEN),
        )  # fmt: skip
        if cursor.rowcount != 1:
            return False
        if grant is not None:
            put_member(conn, grant)
        return True


def add_card(db: Database, request_id: int, chat_id: int, message_id: int) -> None:
    db.write(
        "INSERT INTO join_cards (request_id, chat_id, message_id) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (request_id, chat_id, message_id),
    )


def cards(db: Database, request_id: int) -> list[tuple[int, int]]:
    """``(chat id, message id)`` of every card of this request."""
    rows = db.query(
        "SELECT chat_id, message_id FROM join_cards WHERE request_id = ? ORDER BY chat_id",
        (request_id,),
    )
    return [(int(chat), int(message)) for chat, message in rows]


def _request(row: tuple[object, ...]) -> JoinRequest:
    values = list(row)
    values[5] = RequestStatus(values[5])
    return JoinRequest(*values)  # type: ignore[arg-type]

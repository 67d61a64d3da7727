"""amoCRM webhooks → a message to the lead's responsible manager.

web.py stores each body (deduplicated by its hash) and answers 200 at once; the scheduler's
tick works through them here. Bodies are form-encoded with PHP-style keys such as
``leads[add][0][id]=…`` and may carry several events and several leads; every value is a string
(docs/amocrm.md#webhooks). The webhook has no signature, only the secret in its path, so the
body is a hint and never the truth: each lead is read back from the API, and its responsible
user is the API's, not the body's.

What is told to whom (the responsible manager, if linked to a Telegram user: in the config or
through the bot):

* ``leads[add]`` — a new lead; ``leads[responsible]`` — a lead handed to them;
* ``leads[status]`` — only when the lead was closed (won / lost): mid-funnel moves happen many
  times a day and would drown the messages that matter;
* nothing about what the manager did themselves (``created_user_id`` / ``modified_user_id`` is
  them): they know already.

Each (event, chat) is recorded in ``lead_notices`` before it is sent, so the same event arriving
again in a different body still produces one message. Anything else is marked ``ignored`` and
logged; a body that breaks the parser is ``failed``, never a retry loop.

A bulk change in amoCRM sends one body with many leads, so the work per body is bounded: its
leads are read back ``filter[id][]`` 50 at a time (``MAX_LEADS`` at most), their cards share one
read of pipelines, users and contacts, and a chat that would get more than ``NOTICES_PER_CHAT``
messages from one body gets one list instead (Telegram lets a bot send about one message per
second to a chat: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
The job yields after each body, which is where the scheduler renews its lease.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.models import LOST_STATUS
from leoweb_bot.amocrm.models import WON_STATUS
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import card_url
from leoweb_bot.bot.context import App
from leoweb_bot.bot.members import access_now
from leoweb_bot.bot.screens import lead_cards
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import link
from leoweb_bot.bot.texts import t
from leoweb_bot.forms import php_form
from leoweb_bot.ids import parse_id
from leoweb_bot.proactive.alerts import chats_by_manager
from leoweb_bot.state.events import AmoEventStatus
from leoweb_bot.state.events import claim_notice
from leoweb_bot.state.events import mark_amo_event
from leoweb_bot.state.events import pending_amo_events
from leoweb_bot.state.progress import Progress
from leoweb_bot.telegram.client import TelegramError

log = logging.getLogger(__name__)

KINDS = ("add", "responsible", "status")
BATCH = 20  # bodies per tick; the rest wait for the next one
MAX_LEADS = 250  # distinct leads read back per body (5 look-ups); past that a bulk change is logged
NOTICES_PER_CHAT = 3  # from one body; more go to the chat as one list
MAX_ATTEMPTS = 20  # amoCRM unreachable for ~5 minutes of ticks: give the body up


@dataclass(frozen=True)
class LeadEvent:
    kind: str  # add | responsible | status
    lead_id: int
    fields: Mapping[str, str]  # the body's flat fields for this lead (strings, unverified)

    @property
    def key(self) -> str:
        """Identifies the event, not the body: a lead is added once; changes carry their time."""
        if self.kind == "add":
            return f"add:{self.lead_id}"
        stamp = self.fields.get("last_modified") or self.fields.get("updated_at") or ""
        value = self.fields.get("status_id" if self.kind == "status" else "responsible_user_id")
        return f"{self.kind}:{self.lead_id}:{value or ''}:{stamp}"

    def by(self) -> str:
        """Who made the change, as the body says ("" when it does not)."""
        return self.fields.get("created_user_id" if self.kind == "add" else "modified_user_id", "")


# -- parsing ----------------------------------------------------------------------------------


def lead_events(form: Mapping[str, Any]) -> tuple[list[LeadEvent], list[str]]:
    """The lead events we act on, and the names of the parts we ignore."""
    ignored = [name for name in form if name not in ("leads", "account")]
    leads = form.get("leads")
    events: list[LeadEvent] = []
    if not isinstance(leads, dict):
        return events, ignored + (["leads"] if "leads" in form else [])
    for kind, items in leads.items():
        if kind not in KINDS or not isinstance(items, dict):
            ignored.append(f"leads[{kind}]")
            continue
        for item in items.values():
            raw_id = item.get("id") if isinstance(item, dict) else None
            lead_id = parse_id(raw_id) if isinstance(raw_id, str) else None
            if lead_id is None:
                ignored.append(f"leads[{kind}] item without an id")
                continue
            flat = {k: v for k, v in item.items() if isinstance(v, str)}
            events.append(LeadEvent(kind, lead_id, flat))
    return events, ignored


# -- the job ----------------------------------------------------------------------------------


def process_events(app: App, now: int) -> Iterator[None]:
    """Work through stored webhook bodies, oldest first. An amoCRM outage stops the round.

    Yields after each body: there the scheduler renews the job's lease, or stops the job if
    another process has taken it over.
    """
    for body in pending_amo_events(app.state, BATCH):
        try:
            with app.client.operation():  # one body, one deadline for its amoCRM reads
                status = handle_body(app, body.payload)
        except AmoError:
            gave_up = body.attempts + 1 >= MAX_ATTEMPTS
            status = AmoEventStatus.FAILED if gave_up else AmoEventStatus.PENDING
            mark_amo_event(app.state, body.id, status, "amoCRM unavailable")
            raise  # the scheduler logs it (and opens an incident for auth / block / payment)
        except Exception:
            log.exception("amoCRM webhook body %d could not be handled", body.id)
            status = AmoEventStatus.FAILED
        mark_amo_event(app.state, body.id, status)
        yield


def handle_body(app: App, payload: str) -> AmoEventStatus:
    form = php_form(payload)
    mirrored = refresh_mirror(app, form)
    events, ignored = lead_events(form)
    ignored = [name for name in ignored if name != "task" or not mirrored]
    if ignored:
        log.info("amoCRM webhook: ignored %s", ", ".join(sorted(set(ignored))))
    notify(app, within_cap(events))
    return AmoEventStatus.DONE if events or mirrored else AmoEventStatus.IGNORED


def refresh_mirror(app: App, form: Mapping[str, Any]) -> int:
    """Ask the sync to re-read every task and lead the body names, whatever happened to it
    (``task[…]``, ``leads[…]``: docs/amocrm.md#webhooks), so the mirror has it within seconds
    instead of at the next poll; returns how many ids."""
    ids: dict[str, set[int]] = {"tasks": set(), "leads": set()}
    for key, entity in (("task", "tasks"), ("leads", "leads")):
        sections = form.get(key)
        for items in sections.values() if isinstance(sections, dict) else ():
            for item in items.values() if isinstance(items, dict) else ():
                raw = item.get("id") if isinstance(item, dict) else None
                if isinstance(raw, str) and (found := parse_id(raw)) is not None:
                    ids[entity].add(found)
    progress, now = Progress(app.state), app.now()
    for entity, wanted in ids.items():
        progress.want(entity, sorted(wanted), now)
    return sum(map(len, ids.values()))


def within_cap(events: list[LeadEvent]) -> list[LeadEvent]:
    """The events of the body's first ``MAX_LEADS`` leads."""
    leads = list(dict.fromkeys(e.lead_id for e in events))
    if len(leads) <= MAX_LEADS:
        return events
    log.warning(
        "amoCRM webhook: %d leads in one body (a bulk change); telling about the first %d",
        len(leads),
        MAX_LEADS,
    )
    kept = set(leads[:MAX_LEADS])
    return [e for e in events if e.lead_id in kept]


@dataclass(frozen=True)
class Notice:
    event: LeadEvent
    lead: Lead
    title_key: str


def notify(app: App, events: Sequence[LeadEvent]) -> None:
    """Tell each responsible manager what is news to them: a card per event, or one list when
    the body brings their chat more than ``NOTICES_PER_CHAT``.

    Every amoCRM read comes first: a notice is claimed only once nothing can fail but the send.
    """
    by_chat = notices_by_chat(app, events)
    carded = [
        n.lead for notices in by_chat.values() if len(notices) <= NOTICES_PER_CHAT for n in notices
    ]
    cards = lead_cards(app, list({lead.id: lead for lead in carded}.values()))
    for chat_id, notices in by_chat.items():
        now = app.now()
        fresh = [n for n in notices if claim_notice(app.state, f"{n.event.key}:{chat_id}", now)]
        if len(notices) > NOTICES_PER_CHAT:
            if fresh:
                send(app, chat_id, notice_list(app, fresh), f"{len(fresh)} lead notices")
            continue
        for n in fresh:
            html = join([t(app.lang, n.title_key), cards[n.lead.id]])
            send(app, chat_id, html, f"lead {n.lead.id} notice ({n.event.kind})")


def notices_by_chat(app: App, events: Sequence[LeadEvent]) -> dict[int, list[Notice]]:
    """Read the leads back through the API and decide who hears about which event."""
    if not events:
        return {}
    leads = {lead.id: lead for lead in app.client.leads(e.lead_id for e in events)}
    missing = sorted({e.lead_id for e in events} - leads.keys())
    if missing:
        log.info("amoCRM webhook: leads %s not found (deleted, or not ours)", missing)
    chats = chats_by_manager(access_now(app).managers)
    by_chat: dict[int, list[Notice]] = {}
    for event in events:
        lead = leads.get(event.lead_id)
        title_key = title_for(event, lead) if lead else None
        if lead is None or title_key is None:
            continue
        for chat_id in chats.get(lead.responsible_user_id, []):
            by_chat.setdefault(chat_id, []).append(Notice(event, lead, title_key))
    return by_chat


def notice_list(app: App, notices: Sequence[Notice]) -> Html:
    """Many notices for one chat as one message: a line per lead, linked to its card."""
    lines = [t(app.lang, "lead_notices", count=len(notices))]
    for n in notices:
        name = n.lead.name or t(app.lang, "unnamed")
        card = link(card_url(app.base_url, "leads", n.lead.id), name)
        lines.append(Html(f"{t(app.lang, n.title_key)} · {card}"))
    return join(lines)


def title_for(event: LeadEvent, lead: Lead) -> str | None:
    """The message's first line, or None when there is nothing to tell."""
    if event.by() == str(lead.responsible_user_id):
        return None  # they did it themselves
    if event.kind == "add":
        return "lead_new"
    if event.kind == "responsible":
        # Handed on again since this event: the later event tells the current owner.
        given_to = event.fields.get("responsible_user_id")
        return "lead_assigned" if given_to in (None, str(lead.responsible_user_id)) else None
    return {WON_STATUS: "lead_won", LOST_STATUS: "lead_lost"}.get(lead.status_id)


def send(app: App, chat_id: int, html: str, what: str) -> None:
    try:
        app.telegram.send(chat_id, html)
    except TelegramError as exc:  # claimed already: not retried, it may have gone out
        log.error("%s to chat %s not sent: %s", what, chat_id, exc)

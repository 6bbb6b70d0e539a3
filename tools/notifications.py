"""Which events become e-mails, to whom, and what they say.

Every mail is structured for people and for assistants that read inboxes: a subject from seed 002
(`New quote: [name] — $[amount]`, `📦 Deliverables ready: [task]`, `🔒 Booking confirmed`, …), a
detail table `<table id="crewcall-details">` with one `<tr><th>Label</th><td>value</td></tr>`
per fact (labels are stable: `Event`, `Event ID`, `Task ID`, `Quote ID`, `Booking ID`,
`Work order ID`, `Dispute ID`, `Talent ID`, `Task`, `Talent`, `Amount`, `Status`, …), the same
facts as `Label: value` lines in the text/plain part, and the action links.

Mails are jobs: the subscriber enqueues one per recipient in the event's transaction; the worker
renders (templates/emails/event.html and .txt) and sends through the Mailer port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tools import events
from tools.jobs import JobRun, Outcome, enqueue, handler, wake_after_commit
from tools.models import Event, Principal, TalentProfile, Task

if TYPE_CHECKING:
    from tools.context import Ctx

EMAIL_DIR = Path(__file__).resolve().parent.parent / "templates" / "emails"
F = dict[str, str]


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]  #: "customer" (the event's owner) and/or "talent" (the data's talent_id)
    subject: Callable[[F], str]
    headline: str
    intro: str


MAILS: dict[str, Mail] = {
    "task.created": Mail(
        ("customer",),
        lambda f: f"📝 Task created: {f['task']}",
        "Your task is created",
        "Next, invite talent to quote with POST /v1/tasks/{task_id}/quote_requests.",
    ),
    "task.policy_blocked": Mail(
        ("customer",),
        lambda f: f"⛔ Request blocked: {f['task']}",
        "A request was blocked by policy",
        "Nothing changed. The details say why and what to do next.",
    ),
    "task.open_for_quotes": Mail(
        ("customer",),
        lambda f: f"📣 Open for quotes: {f['task']}",
        "Talent has been invited",
        "Quotes will arrive by e-mail and as quote.received events.",
    ),
    "task.cancelled": Mail(
        ("customer",),
        lambda f: f"🚫 Task cancelled: {f['task']}",
        "Your task is cancelled",
        "Pending quotes were rejected and any hold was released.",
    ),
    "quote.requested": Mail(
        ("talent",),
        lambda f: f"📩 Job invitation: {f['task']}",
        "You are invited to quote",
        "Send your price with the quote link below before the invitation expires.",
    ),
    "quote.received": Mail(
        ("customer",),
        lambda f: f"New quote: {f['talent']} — ${f['amount_plain']}",
        "A new quote arrived",
        "Accept it to book this talent, or wait for more quotes.",
    ),
    "quote.accepted": Mail(
        ("talent",),
        lambda f: f"✅ Quote accepted: {f['task']}",
        "Your quote was accepted",
        "The booking follows once the customer's escrow is in place.",
    ),
    "quote.rejected": Mail(
        ("talent",),
        lambda f: f"Quote declined: {f['task']}",
        "Your quote was declined",
        "Thank you for quoting; more invitations will come.",
    ),
    "quote.expired": Mail(
        ("talent", "customer"),
        lambda f: f"⌛ Quote expired: {f['task']}",
        "A quote expired",
        "It was not accepted in time. Request new quotes if you still need this done.",
    ),
    "booking.confirmed": Mail(
        ("customer", "talent"),
        lambda f: "🔒 Booking confirmed",
        "The booking is confirmed",
        "The payment is held in escrow until the work is accepted.",
    ),
    "booking.checkin_recorded": Mail(
        ("customer",),
        lambda f: f"📍 Check-in recorded: {f['task']}",
        "The talent checked in on site",
        "Work is under way.",
    ),
    "booking.cancelled": Mail(
        ("customer", "talent"),
        lambda f: f"🚫 Booking cancelled: {f['task']}",
        "The booking is cancelled",
        "Any escrow hold was released.",
    ),
    "booking.sla_at_risk": Mail(
        ("customer", "talent"),
        lambda f: f"⚠️ At risk: {f['task']}",
        "This booking is at risk",
        "The start time passed without a check-in.",
    ),
    "booking.checkin_reminder": Mail(
        ("talent",),
        lambda f: f"⏰ Check-in reminder: {f['task']}",
        "Your job starts soon",
        "Check in on site with GPS when you arrive.",
    ),
    "deliverable.registered": Mail(
        ("customer",),
        lambda f: f"📦 Deliverables ready: {f['task']}",
        "Deliverables are ready",
        "QA runs automatically; review them and accept the work order.",
    ),
    "qa.completed": Mail(
        ("customer", "talent"),
        lambda f: f"🔍 QA {f['qa_status']}: {f['task']}",
        "Quality checks finished",
        "See the checks for what passed and what did not.",
    ),
    "work_order.changes_requested": Mail(
        ("talent",),
        lambda f: f"✏️ Changes requested: {f['task']}",
        "The customer asked for changes",
        "Deliver again once the changes are made.",
    ),
    "work_order.accepted": Mail(
        ("customer", "talent"),
        lambda f: f"🎉 Work accepted: {f['task']}",
        "The work is accepted",
        "Escrow is captured; the talent's payout follows.",
    ),
    "payout.initiated": Mail(
        ("talent",),
        lambda f: f"💸 Payout initiated: ${f['share_plain']}",
        "Your payout is on its way",
        "85 % of the booking goes to you; the funds arrive per your payout method.",
    ),
    "dispute.opened": Mail(
        ("customer", "talent"),
        lambda f: f"⚖️ Dispute opened: {f['task']}",
        "A dispute was opened",
        "Escrow stays held until the dispute is resolved.",
    ),
    "dispute.resolved": Mail(
        ("customer", "talent"),
        lambda f: f"⚖️ Dispute resolved: {f['task']}",
        "The dispute is resolved",
        "See the resolution and any refund below.",
    ),
    "rating.created": Mail(
        ("talent",),
        lambda f: f"⭐ New rating: {f['score']}/5",
        "You were rated",
        "Ratings shape which invitations you receive.",
    ),
    "webhook_endpoint.disabled": Mail(
        ("customer",),
        lambda f: f"⚠️ Webhook endpoint disabled: {f['url']}",
        "A webhook endpoint was disabled",
        "Fix the receiver, then register the URL again; e-mails keep coming meanwhile.",
    ),
}

#: Events nobody needs an e-mail for; others, added later without a mail, fall back to FALLBACK.
SILENT: frozenset[str] = frozenset()
FALLBACK = Mail(("customer",), lambda f: f"CrewCall: {f['type']}", "Something changed", "See the details below.")

OBJECTS = (
    "task",
    "quote",
    "invitation",
    "booking",
    "work_order",
    "deliverable",
    "qa",
    "dispute",
    "payout",
    "rating",
    "webhook_endpoint",
)
ID_FIELDS = {
    "task_id": "Task ID",
    "quote_id": "Quote ID",
    "invitation_id": "Invitation ID",
    "booking_id": "Booking ID",
    "work_order_id": "Work order ID",
    "deliverable_id": "Deliverable ID",
    "dispute_id": "Dispute ID",
    "payout_id": "Payout ID",
    "rating_id": "Rating ID",
    "talent_id": "Talent ID",
}
PREFIXES = {
    "task": "Task ID", "quo": "Quote ID", "inv": "Invitation ID", "bkg": "Booking ID", "wo": "Work order ID",
    "dlv": "Deliverable ID", "dsp": "Dispute ID", "pay": "Payout ID", "po": "Payout ID", "rat": "Rating ID",
    "tal": "Talent ID", "whk": "Webhook ID",
}  # fmt: skip


def mail_for(event_type: str) -> Mail | None:
    if event_type in SILENT:
        return None
    return MAILS.get(event_type, FALLBACK)


# --- facts -----------------------------------------------------------------------------------


def _objects(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in data.items() if isinstance(v, dict)]


def _first(data: dict[str, Any], *names: str) -> Any:
    """The first of `names` found in data or its nested objects, shallowest first."""
    level = [data]
    for _ in range(4):
        for obj in level:
            for name in names:
                if obj.get(name) not in (None, ""):
                    return obj[name]
        level = [v for obj in level for v in obj.values() if isinstance(v, dict)]
    return None


def _amount(data: dict[str, Any], event_type: str) -> tuple[str | None, str | None]:
    """("$250 CAD", "250") from the main object's whole-unit amount (or cents)."""
    main = data.get(event_type.split(".")[0])
    candidates = ([main] if isinstance(main, dict) else []) + [o for _, o in _objects(data)] + [data]
    for obj in candidates:
        if obj.get("amount") is not None or obj.get("amount_cents") is not None:
            value = _number(obj["amount"]) if obj.get("amount") is not None else _number(int(obj["amount_cents"]) / 100)
            currency = obj.get("currency") or _first(data, "currency") or ""
            return f"${value} {currency}".strip(), str(value)
    return None, None


def _number(value: Any) -> str:
    """250 → "250", 250.0 → "250", 12.5 → "12.50"."""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.2f}"


def details(
    event_type: str, data: dict[str, Any], *, event_id: str | None, extra: dict[str, Any]
) -> list[tuple[str, str]]:
    """The labelled facts of an event, in a stable order."""
    rows: dict[str, str] = {}

    def put(label: str, value: Any) -> None:
        if value not in (None, "", [], {}) and label not in rows:
            rows[label] = " ".join(str(value).split())  # one line each: parsers read line by line

    put("Event", event_type)
    put("Event ID", event_id)
    main_name = event_type.split(".")[0]
    main = data.get(main_name) if isinstance(data.get(main_name), dict) else {}
    for _, obj in _objects(data):
        if isinstance(obj.get("id"), str):
            put(PREFIXES.get(obj["id"].split("_")[0], "ID"), obj["id"])
    for _, obj in [("", data), *_objects(data)]:
        for name, label in ID_FIELDS.items():
            put(label, obj.get(name))
    task = data.get("task") if isinstance(data.get("task"), dict) else {}
    put("Task", extra.get("task_title") or task.get("title") or _first(data, "task_title"))
    put("Talent", extra.get("talent_name") or _first(data, "talent_name"))
    put("Amount", _amount(data, event_type)[0])
    put("Status", main.get("status") or data.get("status"))
    payout = data.get("payout") if isinstance(data.get("payout"), dict) else {}
    if payout.get("talent_share") is not None:
        put("Talent share", f"${_number(payout['talent_share'])} {payout.get('currency', '')}".strip())
    qa = data.get("qa") if isinstance(data.get("qa"), dict) else main.get("qa")
    put("QA status", qa.get("status") if isinstance(qa, dict) else None)
    schedule = task.get("schedule") if isinstance(task.get("schedule"), dict) else {}
    put("Starts at", main.get("start_at") or schedule.get("start_at") or extra.get("start_at"))
    put("Score", _first(data, "score"))
    put("Resolution", _first(data, "resolution"))
    put("Reason", data.get("reason") or main.get("reason") or main.get("disabled_reason"))
    put(
        "URL",
        (data.get("webhook_endpoint") or {}).get("url") if isinstance(data.get("webhook_endpoint"), dict) else None,
    )
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    put("Error code", error.get("code"))
    put("Message", error.get("message"))
    for label, url in actions(event_type, rows, data, base_url=extra.get("base_url", "")):
        put(label, url)
    return list(rows.items())


def actions(event_type: str, rows: dict[str, str], data: dict[str, Any], *, base_url: str) -> list[tuple[str, str]]:
    """Links to act on: (label, url). The talent's invitation carries its quote link."""
    links = []
    if event_type == "quote.requested":
        given = _first(data, "quote_url", "portal_url")
        talent = rows.get("Talent ID", "{talent_id}")
        links.append(("Quote link", given or f"{base_url}/v1/talent/{talent}/quote?task_id={rows.get('Task ID', '')}"))
    if "Quote ID" in rows and event_type == "quote.received":
        links.append(("Accept link", f"{base_url}/v1/quotes/{rows['Quote ID']}/accept"))
    if "Work order ID" in rows:
        links.append(("Work order link", f"{base_url}/v1/work_orders/{rows['Work order ID']}"))
    if "Task ID" in rows:
        links.append(("Task link", f"{base_url}/v1/tasks/{rows['Task ID']}"))
    return links


# --- rendering -------------------------------------------------------------------------------

_ENV: Environment | None = None


def _env() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=FileSystemLoader(EMAIL_DIR), autoescape=select_autoescape(["html"]), keep_trailing_newline=True
        )
    return _ENV


def render(
    event_type: str, data: dict[str, Any], *, event_id: str | None, extra: dict[str, Any]
) -> tuple[str, str, str]:
    """(subject, html, text) of the mail for `event_type`."""
    mail = mail_for(event_type) or FALLBACK
    rows = details(event_type, data, event_id=event_id, extra=extra)
    facts = dict(rows)
    amount, plain = _amount(data, event_type)
    fields: F = {
        "type": event_type,
        "task": facts.get("Task") or facts.get("Task ID") or "your task",
        "talent": facts.get("Talent") or facts.get("Talent ID") or "a talent",
        "amount": amount or "",
        "amount_plain": plain or "?",
        "share_plain": (facts.get("Talent share") or "").split(" ")[0].lstrip("$") or plain or "?",
        "qa_status": facts.get("QA status") or facts.get("Status") or "done",
        "score": facts.get("Score") or "?",
        "url": facts.get("URL") or "",
    }
    subject = mail.subject(fields)
    links = [(label, url) for label, url in rows if label.endswith(" link")]
    context = {"subject": subject, "headline": mail.headline, "intro": mail.intro, "rows": rows, "links": links}
    return (
        subject,
        _env().get_template("event.html").render(**context),
        _env().get_template("event.txt").render(**context),
    )


# --- the subscriber and the mail job ---------------------------------------------------------


def recipients(ctx: Ctx, event_type: str, data: dict[str, Any], owner_id: str) -> list[Principal]:
    mail = mail_for(event_type)
    if mail is None:
        return []
    found: list[Principal] = []
    with ctx.session.no_autoflush:
        for role in mail.to:
            pid = owner_id if role == "customer" else _first(data, "talent_id")
            person = ctx.session.get(Principal, pid) if pid else None
            if person is not None and person not in found:
                found.append(person)
    return found


def queue_mails(ctx: Ctx, event: Event) -> None:
    """SUBSCRIBER: one e-mail job per person who should hear of this event."""
    for person in recipients(ctx, event.type, event.data, event.owner_id):
        payload = {"event_id": event.id, "type": event.type, "to": person.email, "principal_id": person.id}
        enqueue(ctx.session, "email", payload, now=ctx.now(), dedupe_key=f"email:{event.id}:{person.id}")
        wake_after_commit(ctx)


if queue_mails not in events.SUBSCRIBERS:
    events.SUBSCRIBERS.append(queue_mails)


def lookups(session: Any, data: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Names the event's data may lack: the task's title, the talent's name."""
    extra: dict[str, Any] = {"base_url": base_url}
    task_id = _first(data, "task_id") or (
        (data.get("task") or {}).get("id") if isinstance(data.get("task"), dict) else None
    )
    if task_id and (task := session.get(Task, task_id)) is not None:
        extra["task_title"], extra["start_at"] = task.title, task.start_at.isoformat().replace("+00:00", "Z")
    talent_id = _first(data, "talent_id")
    if talent_id and (talent := session.get(TalentProfile, talent_id)) is not None:
        extra["talent_name"] = talent.name
    return extra


@handler("email")
def send_email(run: JobRun) -> Outcome:
    payload = run.job.payload
    mailer = run.services.mailer
    if mailer is None:
        return Outcome(ok=False, final=True, error="no mailer configured")
    with run.sessions(write=False) as session:
        event = session.get(Event, payload["event_id"]) if payload.get("event_id") else None
        data = event.data if event is not None else payload.get("data", {})
        extra = lookups(session, data, run.services.config.base_url)
    subject, html, text = render(payload["type"], data, event_id=payload.get("event_id"), extra=extra)
    headers = {"X-CrewCall-Event-Type": payload["type"], "X-CrewCall-Job": run.job.id}
    if payload.get("event_id"):
        headers["X-CrewCall-Event"] = payload["event_id"]
    mailer.send(to=payload["to"], subject=subject, html=html, text=text, headers=headers)
    return Outcome()

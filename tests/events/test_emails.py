"""E-mails: every lifecycle step reaches the person concerned over SMTP, readable by machines."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from email.message import EmailMessage
from html.parser import HTMLParser

import httpx
import pytest
from PIL import Image

from tests.conftest import LiveServer
from tests.events.conftest import Inbox
from tests.factories import book_task, checkin, create_task, ok, signup_customer, upload
from tools.events import EVENT_TYPES
from tools.notifications import MAILS, render


class DetailTable(HTMLParser):
    """Reads `<table id="crewcall-details">` rows into {label: value}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self._inside = False
        self._cell: str | None = None
        self._label = ""
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "crewcall-details") in attrs:
            self._inside = True
        elif self._inside and tag in ("th", "td"):
            self._cell, self._text = tag, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif self._inside and tag == self._cell:
            if tag == "th":
                self._label = self._text.strip()
            else:
                self.rows[self._label] = self._text.strip()
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell:
            self._text += data


def html_facts(html: str) -> dict[str, str]:
    parser = DetailTable()
    parser.feed(html)
    return parser.rows


def text_facts(text: str) -> dict[str, str]:
    return {label: value.strip() for label, value in re.findall(r"^([A-Z][A-Za-z ]+): (.+)$", text, flags=re.M)}


def parts(msg: EmailMessage) -> tuple[str, str]:
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None, "a mail has an HTML and a text part"
    return html.get_content(), text.get_content()


def facts_of(msg: EmailMessage) -> dict[str, str]:
    html, text = parts(msg)
    from_html, from_text = html_facts(html), text_facts(text)
    assert from_html == from_text, "the HTML table and the text part say the same"
    return from_html


# --- every event type has a mail that parses back ------------------------------------------------

SAMPLE = {
    "task": {"id": "task_01", "object": "task", "title": "DEKE Spring SKU shoot", "status": "booked",
             "schedule": {"start_at": "2026-12-04T16:00:00Z"}},
    "quote": {"id": "quo_01", "task_id": "task_01", "talent_id": "tal_01", "talent_name": "Tess Talent",
              "amount": 250, "currency": "CAD", "status": "pending"},
    "booking": {"id": "bkg_01", "task_id": "task_01", "talent_id": "tal_01", "work_order_id": "wo_01",
                "status": "confirmed", "amount": 250, "currency": "CAD"},
    "work_order": {"id": "wo_01", "task_id": "task_01", "booking_id": "bkg_01", "talent_id": "tal_01",
                   "status": "delivered"},
    "qa": {"status": "failed", "work_order_id": "wo_01"},
    "dispute": {"id": "dsp_01", "work_order_id": "wo_01", "status": "open", "reason": "Blurry photos"},
    "payout": {"talent_id": "tal_01", "currency": "CAD", "amount": 250.0, "talent_share": 212.5},
    "rating": {"id": "rat_01", "work_order_id": "wo_01", "talent_id": "tal_01", "score": 5},
    "invitation": {"id": "inv_01", "task_id": "task_01", "talent_id": "tal_01"},
    "webhook_endpoint": {"id": "whk_01", "url": "https://agent.example/hook", "status": "disabled"},
}  # fmt: skip


@pytest.mark.parametrize("event_type", [*EVENT_TYPES, "booking.checkin_reminder"])
def test_every_event_type_has_a_mail_whose_facts_parse_back(event_type: str) -> None:
    subject, html, text = render(event_type, SAMPLE, event_id="evt_01", extra={"base_url": "https://cc.example"})
    assert event_type in MAILS, f"{event_type} has a mail of its own"
    facts = html_facts(html)
    assert facts == text_facts(text)
    assert facts["Event"] == event_type and facts["Event ID"] == "evt_01"
    assert facts["Task ID"] == "task_01" and facts["Talent ID"] == "tal_01"
    assert facts["Task link"] == "https://cc.example/v1/tasks/task_01"
    assert subject and "{" not in subject


def test_the_seed_subjects_are_kept() -> None:
    extra = {"base_url": "https://cc.example"}
    assert render("quote.received", SAMPLE, event_id="e", extra=extra)[0] == "New quote: Tess Talent — $250"
    assert render("deliverable.registered", SAMPLE, event_id="e", extra=extra)[0] == (
        "📦 Deliverables ready: DEKE Spring SKU shoot"
    )
    assert render("booking.confirmed", SAMPLE, event_id="e", extra=extra)[0] == "🔒 Booking confirmed"


# --- the lifecycle, through the API, over SMTP -----------------------------------------------------


def wait_mail(inbox: Inbox, to: str, prefix: str, timeout: float = 20.0) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for msg in inbox.to(to):
            if str(msg["Subject"]).startswith(prefix):
                return msg
        time.sleep(0.05)
    raise AssertionError(f"no mail {prefix!r} to {to}; got {[str(m['Subject']) for m in inbox.to(to)]}")


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_each_lifecycle_step_mails_the_people_concerned(mail_server: tuple[LiveServer, Inbox]) -> None:
    server, inbox = mail_server
    with httpx.Client(base_url=server.url, timeout=30) as api:
        flow = book_task(api, amount=250, starts_in=timedelta(minutes=30))
        customer, talent, task, quote, booking = (flow[k] for k in ("customer", "talent", "task", "quote", "booking"))
        cust_email = ok(customer.get("/v1/webhooks")) and _email_of(server, flow["customer_id"])
        tal_email = _email_of(server, flow["talent_id"])

        created = facts_of(wait_mail(inbox, cust_email, "📝 Task created"))
        assert created["Task ID"] == task["id"] and created["Task"] == task["title"]

        invite = facts_of(wait_mail(inbox, tal_email, "📩 Job invitation"))
        assert invite["Task ID"] == task["id"] and invite["Quote link"].startswith("http")

        received = wait_mail(inbox, cust_email, "New quote: ")
        assert str(received["Subject"]) == "New quote: Tess Talent — $250"
        facts = facts_of(received)
        assert facts["Quote ID"] == quote["id"] and facts["Amount"].startswith("$250")
        assert facts["Accept link"].endswith(f"/v1/quotes/{quote['id']}/accept")

        assert facts_of(wait_mail(inbox, tal_email, "✅ Quote accepted"))["Quote ID"] == quote["id"]
        for person in (cust_email, tal_email):
            confirmed = facts_of(wait_mail(inbox, person, "🔒 Booking confirmed"))
            assert confirmed["Booking ID"] == booking["id"]

        ok(checkin(talent, booking, task))
        assert facts_of(wait_mail(inbox, cust_email, "📍 Check-in recorded"))["Booking ID"] == booking["id"]

        wo_id = booking["work_order_id"]
        file_id = upload(talent, jpeg())
        ok(
            talent.post(
                f"/v1/work_orders/{wo_id}/deliverables", json={"files": [{"file_id": file_id, "kind": "photo"}]}
            )
        )
        ready = facts_of(wait_mail(inbox, cust_email, "📦 Deliverables ready"))
        assert ready["Work order ID"] == wo_id and ready["Task"] == task["title"]

        qa = ok(customer.get(f"/v1/work_orders/{wo_id}/qa"))
        qa_mail = facts_of(wait_mail(inbox, cust_email, "🔍 QA "))
        assert qa_mail["QA status"] == qa["status"] and qa_mail["Work order ID"] == wo_id

        ok(customer.post(f"/v1/work_orders/{wo_id}/accept", json={"override_qa": True}))
        assert facts_of(wait_mail(inbox, tal_email, "🎉 Work accepted"))["Work order ID"] == wo_id
        payout = facts_of(wait_mail(inbox, tal_email, "💸 Payout initiated"))
        assert payout["Talent share"].startswith("$") and payout["Booking ID"] == booking["id"]

        ok(customer.post(f"/v1/work_orders/{wo_id}/rating", json={"score": 5}))
        assert facts_of(wait_mail(inbox, tal_email, "⭐ New rating: 5/5"))["Work order ID"] == wo_id


def test_cancellation_and_refusal_mail_the_customer(mail_server: tuple[LiveServer, Inbox]) -> None:
    server, inbox = mail_server
    with httpx.Client(base_url=server.url, timeout=30) as api:
        customer, body = signup_customer(api)
        email = _email_of(server, body["principal_id"])
        task = create_task(customer)
        ok(customer.post(f"/v1/tasks/{task['id']}/cancel", json={"reason": "Shoot moved"}))
        cancelled = facts_of(wait_mail(inbox, email, "🚫 Task cancelled"))
        assert cancelled["Task ID"] == task["id"] and cancelled["Reason"] == "Shoot moved"
        assert customer.post(f"/v1/tasks/{task['id']}/cancel", json={}).status_code == 403
        blocked = facts_of(wait_mail(inbox, email, "⛔ Request blocked"))
        assert blocked["Error code"] == "POLICY_BLOCKED" and blocked["Task ID"] == task["id"]


def _email_of(server: LiveServer, principal_id: str) -> str:
    from tools.models import Principal

    with server.state.db(write=False) as session:
        principal = session.get(Principal, principal_id)
        assert principal is not None
        return principal.email

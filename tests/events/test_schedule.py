"""The scheduled ticks act on the lifecycle as an operator would expect, once each."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import select

from tests.api.test_deliverables import events_of, good_photos, photo_work
from tests.conftest import LiveServer
from tests.factories import assert_ledger_balanced, book_task, deliver, ok, quote_on, signup_customer, signup_talent
from tests.factories import create_task as make_task
from tools.models import Job
from tools.runner import in_transaction
from tools.schedule import TICK_FUNCS, enqueue_ticks


def run_tick(server: LiveServer, name: str) -> None:
    """Run one tick the way the worker does: one transaction, then its after-commit hooks."""
    in_transaction(server.state.db, server.state.services, TICK_FUNCS[name], name=f"tick:{name}")


def test_a_lapsed_quote_is_expired_by_the_tick(api: httpx.Client, server: LiveServer) -> None:
    customer, _ = signup_customer(api)
    talent, body = signup_talent(api)
    task = make_task(customer)
    quote = quote_on(customer, talent, body["talent_id"], task["id"])
    server.clock.advance(hours=server.state.services.config.quote_ttl_hours + 1)
    run_tick(server, "quote_expiry")
    assert customer.get(f"/v1/quotes/{quote['id']}").json()["status"] == "expired"
    assert len(events_of(server, quote["id"], "quote.expired")) == 1


def test_fresh_deliverables_get_their_qa_without_anyone_asking(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    ok(deliver(work, good_photos(work)))
    run_tick(server, "auto_qa")
    assert work.customer.get(f"/v1/work_orders/{work.work_order_id}").json()["status"] == "qa_passed"


def test_work_waiting_out_the_review_window_is_accepted_and_paid(api: httpx.Client, server: LiveServer) -> None:
    work = photo_work(api)
    ok(deliver(work, good_photos(work)))
    ok(work.customer.get(f"/v1/work_orders/{work.work_order_id}/qa"))
    run_tick(server, "auto_accept")
    assert work.customer.get(f"/v1/work_orders/{work.work_order_id}").json()["status"] == "qa_passed"
    server.clock.advance(hours=server.state.services.config.review_window_hours + 1)
    run_tick(server, "auto_accept")
    assert work.customer.get(f"/v1/work_orders/{work.work_order_id}").json()["status"] == "accepted"
    assert len(events_of(server, work.booking_id, "payout.initiated")) == 1
    assert_ledger_balanced(server)


def test_a_booking_without_check_in_is_flagged_at_risk_once(api: httpx.Client, server: LiveServer) -> None:
    booked = book_task(api, starts_in=timedelta(minutes=20))
    server.clock.advance(minutes=40)
    run_tick(server, "sla_at_risk")
    run_tick(server, "sla_at_risk")
    assert len(events_of(server, booked["booking"]["id"], "booking.sla_at_risk")) == 1


def test_the_talent_is_reminded_once_before_the_start(api: httpx.Client, server: LiveServer) -> None:
    booked = book_task(api, starts_in=timedelta(minutes=90))
    run_tick(server, "checkin_reminders")
    run_tick(server, "checkin_reminders")
    key = f"reminder:checkin:{booked['booking']['id']}"
    with server.state.db(write=False) as session:
        reminders = session.exec(select(Job).where(Job.dedupe_key == key)).all()
    assert len(reminders) == 1
    assert reminders[0].payload["to"].startswith("talent-")


def test_many_workers_enqueue_each_tick_once(server: LiveServer) -> None:
    now = server.clock.now() + timedelta(days=4000)  # a bucket no other test touches
    with server.state.db(write=True) as session:
        first = enqueue_ticks(session, now=now)
        second = enqueue_ticks(session, now=now)
        session.rollback()  # leave no far-future ticks behind for the shared server
    assert (first, second) == (len(TICK_FUNCS), 0)

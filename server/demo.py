"""`crewcall demo`: walk one task through every step against a running server, over HTTP only.

Sign up a customer and a talent, create a task that starts in 20 minutes (so check-in is open),
quote, accept, add a card, book, check in, upload real photos (EXIF time now, GPS at the task),
deliver, run QA, accept, and print the ledger's 85/15 split. One line per step.
"""

from __future__ import annotations

import argparse
import io
import random
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import httpx

HAMILTON = {"address": "12 Hess St N, Hamilton ON", "lat": 43.2557, "lng": -79.8711}
PHOTOS = 3


class DemoFailed(Exception):
    def __init__(self, step: str, resp: httpx.Response) -> None:
        super().__init__(f"{step} failed: HTTP {resp.status_code}\n{resp.text}")


def photo(seed: int, *, lat: float, lng: float, taken_at: datetime) -> bytes:
    """A real 1000x800 JPEG, distinct per seed, with EXIF capture time and GPS."""
    from PIL import ExifTags, Image, TiffImagePlugin

    rng = random.Random(seed)
    image = Image.frombytes("RGB", (6, 6), bytes(rng.randrange(256) for _ in range(108)))
    image = image.resize((1000, 800), Image.Resampling.BICUBIC)

    def dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
        frac = Fraction(abs(value)).limit_denominator(1_000_000)
        return (TiffImagePlugin.IFDRational(frac.numerator, frac.denominator), *[TiffImagePlugin.IFDRational(0, 1)] * 2)

    exif = Image.Exif()
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = taken_at.astimezone(UTC).strftime("%Y:%m:%d %H:%M:%S")
    sub[ExifTags.Base.OffsetTimeOriginal] = "+00:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = ("E" if lng >= 0 else "W"), dms(lng)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


class Demo:
    def __init__(self, url: str, out: Callable[[str], None] = print) -> None:
        self.http = httpx.Client(base_url=url, timeout=30)
        self.out = out
        self.n = 0

    def call(self, step: str, method: str, path: str, *, key: str | None = None, **kw: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        resp = self.http.request(method, path, headers=headers, **kw)
        if resp.status_code >= 400:
            raise DemoFailed(step, resp)
        return resp.json()

    def say(self, step: str, text: str) -> None:
        self.n += 1
        self.out(f"{self.n:>2}. {step:<16} {text}")

    def run(self) -> None:
        tag = secrets.token_hex(3)
        acct = self.call(
            "signup", "POST", "/v1/developer/signup", json={"email": f"demo-{tag}@example.com", "name": "Demo Agent"}
        )
        cust = acct["api_key"]
        self.say("signup", f"customer {acct['principal_id']}")
        talent_body = {
            "name": f"Demo Talent {tag}",
            "email": f"talent-{tag}@example.com",
            "task_types": ["PRODUCT_PHOTO_ECOMM"],
            "home": {"lat": HAMILTON["lat"], "lng": HAMILTON["lng"]},
            "radius_km": 50,
            "hourly_rate": 60,
        }
        tal = self.call("talent signup", "POST", "/v1/talent/signup", json=talent_body)
        talent_id, tkey = tal["talent_id"], tal["api_key"]
        self.say("talent signup", f"talent {talent_id}")
        task = self.create_task(cust)
        booking = self.book(cust, tkey, talent_id, task)
        self.deliver_and_accept(cust, tkey, task, booking)

    def create_task(self, cust: str) -> dict[str, Any]:
        start = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0)
        body = {
            "task_type": "PRODUCT_PHOTO_ECOMM",
            "title": "Demo shoot — 1 product, 3 photos",
            "location": {"mode": "onsite", **HAMILTON},
            "schedule": {"start_at": start.isoformat().replace("+00:00", "Z"), "duration_hours": 2},
            "budget": {"currency": "CAD", "pricing_model": "fixed", "max_total": 300},
            "deliverables": [{"kind": "photo", "count": PHOTOS, "format": "jpeg"}],
            "task_spec": {"product_count": 1, "background": "white", "angles": ["front"], "min_resolution_px": 800},
        }
        task = self.call("create task", "POST", "/v1/tasks", key=cust, json=body)
        self.say("create task", f"{task['id']} {task['status']}, starts {body['schedule']['start_at']}")
        return task

    def book(self, cust: str, tkey: str, talent_id: str, task: dict[str, Any]) -> dict[str, Any]:
        invited = self.call(
            "request quotes",
            "POST",
            f"/v1/tasks/{task['id']}/quote_requests",
            key=cust,
            json={"talent_ids": [talent_id]},
        )
        self.say("request quotes", f"invited {len(invited.get('invited', []))}, task {invited.get('task_status')}")
        quote = self.call(
            "talent quotes",
            "POST",
            f"/v1/talent/{talent_id}/quote",
            key=tkey,
            json={"task_id": task["id"], "amount": 200},
        )
        self.say("talent quotes", f"{quote['id']} {quote['amount']} {quote['currency']}")
        accepted = self.call("accept quote", "POST", f"/v1/quotes/{quote['id']}/accept", key=cust)
        self.say("accept quote", f"{accepted['id']} {accepted['status']}")
        card = self.call(
            "payment method", "POST", "/v1/billing/payment_methods", key=cust, json={"token": "pm_card_visa"}
        )
        self.say("payment method", f"{card['id']} {card.get('brand')} {card.get('last4')}")
        booking = self.call("book", "POST", "/v1/bookings", key=cust, json={"quote_id": quote["id"]})
        self.say(
            "book",
            f"{booking['id']} {booking['status']}, {booking['amount']} held, work order {booking['work_order_id']}",
        )
        spot = {"lat": task["location"]["lat"], "lng": task["location"]["lng"], "accuracy_m": 8}
        checked = self.call("check in", "POST", f"/v1/bookings/{booking['id']}/checkin", key=tkey, json=spot)
        self.say("check in", f"booking {checked['status']}, {checked['checkin'].get('distance_m')} m from the task")
        return booking

    def deliver_and_accept(self, cust: str, tkey: str, task: dict[str, Any], booking: dict[str, Any]) -> None:
        wo_id = booking["work_order_id"]
        lat, lng, now = task["location"]["lat"], task["location"]["lng"], datetime.now(UTC)
        file_ids = []
        for i in range(PHOTOS):
            data = photo(i + 1, lat=lat, lng=lng, taken_at=now)
            meta = {"filename": f"IMG_{i + 1:04d}.jpg", "content_type": "image/jpeg", "size": len(data)}
            ticket = self.call("presign", "POST", "/v1/files/presign", key=tkey, json=meta)
            put = self.http.put(ticket["upload_url"], content=data, headers=ticket["headers"])
            if put.status_code != 200:
                raise DemoFailed("upload", put)
            file_ids.append(ticket["file_id"])
        self.say("upload", f"{len(file_ids)} photos ({', '.join(file_ids)})")
        files = {"files": [{"file_id": f, "kind": "photo"} for f in file_ids]}
        wo = self.call("deliver", "POST", f"/v1/work_orders/{wo_id}/deliverables", key=tkey, json=files)
        self.say("deliver", f"{wo_id} {wo['status']}, round {wo['delivery_round']}")
        qa = self.call("QA", "GET", f"/v1/work_orders/{wo_id}/qa", key=cust)
        marks = " ".join(f"{c['name']}{'✓' if c['passed'] else '✗'}" for c in qa["checks"])
        self.say("QA", f"{qa['status']}: {marks}")
        done = self.call("accept", "POST", f"/v1/work_orders/{wo_id}/accept", key=cust)
        payout = done.get("payout") or {}
        share, fee = payout.get("talent_share", 0), payout.get("platform_fee", 0)
        self.say("accept", f"{done['status']}: talent {share:.2f}, fee {fee:.2f} {booking['currency']}")
        self.ledger(cust, booking["id"])

    def ledger(self, cust: str, booking_id: str) -> None:
        """The booking's ledger balances, and the talent/platform split they add up to."""
        auth = {"Authorization": f"Bearer {cust}"}
        resp = self.http.get("/v1/ledger", params={"booking_id": booking_id}, headers=auth)
        if resp.status_code == 404:
            self.say("ledger", "(this server has no ledger endpoint)")
            return
        if resp.status_code >= 400:
            raise DemoFailed("ledger", resp)
        balances = resp.json().get("balances", [])
        talent = sum(b["balance"] for b in balances if b["account"].startswith("talent:"))
        fee = sum(b["balance"] for b in balances if b["account"].startswith("platform:"))
        total = talent + fee
        split = f"{round(100 * talent / total)}/{round(100 * fee / total)}" if total else "n/a"
        self.say("ledger", f"split {split} (talent/platform) of {total:.2f}")
        for b in balances:
            self.out(f"    {b['account']:<48} {b['balance']:>10.2f} {b['currency']}")


def run(args: argparse.Namespace) -> None:
    demo = Demo(args.url)
    print(f"crewcall demo against {args.url}")
    try:
        demo.run()
    except DemoFailed as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None
    except httpx.HTTPError as exc:
        print(f"cannot reach {args.url}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def register_cli(sub: Any) -> None:
    p = sub.add_parser("demo", help="walk one task through every step against a running server")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the server's base URL")
    p.set_defaults(func=run)

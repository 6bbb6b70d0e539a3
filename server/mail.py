"""`crewcall mail`: read the maildir outbox (the default mailer writes there).

crewcall mail            # numbered list: date, recipient, subject
crewcall mail show 3     # the text part of message 3 (--html for the HTML part)
"""

from __future__ import annotations

import argparse
import mailbox
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any


def messages(path: Path) -> list[EmailMessage]:
    """The outbox's messages, oldest first."""
    if not (path / "cur").exists() and not (path / "new").exists():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    found = [message_from_bytes(box.get_bytes(key), policy=default_policy) for key in box.iterkeys()]
    return sorted(found, key=lambda m: (str(m["Date"] and m["Date"].datetime), str(m["Message-ID"])))  # type: ignore[misc]


def mail_command(args: argparse.Namespace) -> None:
    from server.settings import Settings

    outbox = Settings().outbox_dir
    found = messages(outbox)
    if args.action == "show":
        if not 1 <= args.number <= len(found):
            raise SystemExit(f"no message {args.number}: the outbox {outbox} holds {len(found)}")
        msg = found[args.number - 1]
        body = msg.get_body(("html",) if args.html else ("plain",))
        print(f"From: {msg['From']}\nTo: {msg['To']}\nDate: {msg['Date']}\nSubject: {msg['Subject']}\n")
        print(body.get_content() if body is not None else "(no such part)")
        return
    if not found:
        print(f"the outbox {outbox} is empty")
    for number, msg in enumerate(found, 1):
        print(f"{number:4}  {msg['Date']}  {msg['To']:<32}  {msg['Subject']}")


def register_cli(subparsers: Any) -> None:
    p = subparsers.add_parser("mail", help="list the e-mails in the maildir outbox, or show one")
    p.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    p.add_argument("number", nargs="?", type=int, default=0, help="the message number from the list")
    p.add_argument("--html", action="store_true", help="show the HTML part instead of the text")
    p.set_defaults(func=mail_command)

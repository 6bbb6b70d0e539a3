"""Mailers: a maildir on disk (the default; `crewcall mail` reads it) and SMTP.

CREWCALL_SMTP_URL: `smtp://user:pass@host:port?starttls=1` (or `smtps://` for TLS from the start).
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_FROM = "CrewCall <no-reply@crewcall.local>"


def build_message(*, sender: str, to: str, subject: str, html: str, text: str, headers: dict[str, str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">") or "crewcall.local")
    for name, value in headers.items():
        msg[name] = value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class MaildirMailer:
    def __init__(self, path: Path, *, sender: str = DEFAULT_FROM) -> None:
        self.path = Path(path)
        self.sender = sender
        self._lock = threading.Lock()

    def send(self, *, to: str, subject: str, html: str, text: str, headers: dict[str, str]) -> str:
        msg = build_message(sender=self.sender, to=to, subject=subject, html=html, text=text, headers=headers)
        with self._lock:
            # Maildir(create=True) makes tmp/new/cur only when the root is missing: make them all.
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            mailbox.Maildir(self.path, create=False).add(msg)
        return str(msg["Message-ID"])


class SmtpMailer:
    def __init__(self, url: str, *, sender: str = DEFAULT_FROM, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"CREWCALL_SMTP_URL must start with smtp:// or smtps://, got {url!r}")
        options = parse_qs(parts.query)
        self.tls = parts.scheme == "smtps"
        self.starttls = options.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, *, to: str, subject: str, html: str, text: str, headers: dict[str, str]) -> str:
        msg = build_message(sender=self.sender, to=to, subject=subject, html=html, text=text, headers=headers)
        context = ssl.create_default_context()
        if self.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(msg)
        return str(msg["Message-ID"])


def build_mailer(settings) -> MaildirMailer | SmtpMailer:  # type: ignore[no-untyped-def]
    sender = getattr(settings, "mail_from", DEFAULT_FROM)
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, sender=sender)
    return MaildirMailer(settings.outbox_dir, sender=sender)

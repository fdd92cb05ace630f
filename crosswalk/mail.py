"""Failure reports as e-mail: composed from a rendered report, sent over SMTP, or written
as an ``.eml`` file to the outbox folder.

``compose`` is pure. ``deliver`` is the edge: with ``report.smtp`` set and recipients
for the flow it sends through the server (STARTTLS or SSL, login when a user is set);
otherwise, or when the server fails, it writes the message to ``report.outbox`` and
says why, so a report is never lost. The SMTP password is read from its reference only
to log in, and never appears in a message, a log line or the outbox.
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from pydantic import SecretStr

from crosswalk import report as render
from crosswalk.config import ConfigError, ReportConfig, SmtpConfig
from crosswalk.report import Attempts, Report


@dataclass(frozen=True)
class Delivery:
    """Where a report went: ``smtp`` (``destination`` host:port) or ``outbox`` (a file);
    ``note`` says why an outbox was used when a server was configured."""

    method: str
    destination: str
    note: str | None = None

    def __str__(self) -> str:
        where = (
            f"sent through {self.destination}"
            if self.method == "smtp"
            else f"written to {self.destination}"
        )
        return where + (f" ({self.note})" if self.note else "")


def compose(
    report: Report, sender: str, recipients: list[str], message_id: str | None = None
) -> EmailMessage:
    """The report as a multipart/alternative message: plain text first, then HTML."""
    message = _message(
        render.subject(report), sender, recipients, report.finished_at, report.flow,
        report.run_id, report.kind, render.text(report), render.html_body(report), message_id,
    )  # fmt: skip
    # A boundary from the run, not from the clock: the same report is the same bytes.
    digest = hashlib.sha256(f"{report.flow}:{report.run_id}".encode()).hexdigest()[:24]
    message.set_boundary(f"crosswalk-report-{digest}")
    return message


def compose_attempts(attempts: Attempts, sender: str, recipients: list[str]) -> EmailMessage:
    """The per-attempt e-mail of calls sent to the PSA: plain text first, then HTML."""
    return _message(
        render.attempts_subject(attempts), sender, recipients, attempts.finished_at,
        attempts.flow, attempts.run_id, "calls-to-psa", render.attempts_text(attempts),
        render.attempts_html(attempts),
    )  # fmt: skip


def _message(
    subject: str,
    sender: str,
    recipients: list[str],
    date: datetime,
    flow: str,
    run_id: str,
    kind: str,
    text: str,
    html: str,
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id or make_msgid("crosswalk")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Crosswalk-Flow"] = flow
    message["X-Crosswalk-Run"] = run_id
    message["X-Crosswalk-Report"] = kind
    message.set_content(text, subtype="plain", cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def deliver(
    message: EmailMessage,
    config: ReportConfig,
    recipients: list[str],
    password: Callable[[], SecretStr | None],
    name: str,
) -> Delivery:
    """Send through ``config.smtp`` when it is set and there are recipients; else, or
    when sending fails, write ``<outbox>/<name>.eml``. ``password`` resolves the SMTP
    password when it is needed (a missing one sends the report to the outbox too)."""
    note = None
    smtp = config.smtp
    if smtp is not None and recipients:
        try:
            send(message, smtp, password())
            return Delivery("smtp", f"{smtp.host}:{smtp.effective_port}")
        except (smtplib.SMTPException, OSError, ConfigError) as exc:
            note = f"SMTP {smtp.host}:{smtp.effective_port} failed: {type(exc).__name__}: {exc}"
    elif smtp is not None:
        note = "no recipients are configured for this flow"
    path = write_outbox(message, config.outbox, name)
    return Delivery("outbox", str(path), note)


def connect(smtp: SmtpConfig, password: SecretStr | None) -> smtplib.SMTP:
    """An SMTP session, encrypted as configured and logged in when a user is set. The
    server's certificate is checked against the system's CAs, or ``ca_file``."""
    context = ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    port, timeout = smtp.effective_port, smtp.timeout_seconds
    if smtp.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, port, timeout=timeout)
    try:
        if smtp.tls == "starttls":
            client.starttls(context=context)
        if smtp.user:
            if password is None:
                raise smtplib.SMTPAuthenticationError(0, b"no password resolved for the user")
            client.login(smtp.user, password.get_secret_value())
    except BaseException:
        client.close()
        raise
    return client


def send(message: EmailMessage, smtp: SmtpConfig, password: SecretStr | None) -> None:
    with connect(smtp, password) as client:
        client.send_message(message, from_addr=_address(smtp.sender))


def write_outbox(message: EmailMessage, outbox: Path, name: str) -> Path:
    """``<outbox>/<name>.eml``, written whole (to a temporary name, then renamed)."""
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{name}.eml"
    partial = path.with_suffix(".eml.partial")
    partial.write_bytes(message.as_bytes())
    os.replace(partial, path)
    return path


def _address(sender: str) -> str:
    """``crosswalk <cw@example.com>`` -> ``cw@example.com`` (the envelope sender)."""
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()

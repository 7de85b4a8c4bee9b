"""`broadsheet mail`, `digest` and `bounce`: the newsletter of the running local stack, from a terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from broadsheet.clock import now
from broadsheet.newsletter.digest import run_digest
from broadsheet.newsletter.models import normalise
from broadsheet.newsletter.services import NewsletterServices, build_newsletter
from broadsheet.settings import Settings
from broadsheet_dev.local.newsletter import (
    FEEDBACK_QUEUE,
    Feedback,
    captured_ids,
    captured_mail,
    feedback_event,
    report_feedback,
)
from broadsheet_dev.local.stack import use_endpoint

_LINK = re.compile(r"https?://\S+/api/(?:confirm|unsubscribe)\?token=\S+")


def _described(state: Path) -> dict[str, Any]:
    if not state.is_file():
        raise SystemExit("no local stack is running here (start one with `make run`)")
    described: dict[str, Any] = json.loads(state.read_text())
    use_endpoint(described["endpoint"])
    return described


def mail(state: Path, last: int) -> int:
    """Print the mails moto's SES has accepted (the newest `last`, or all), with their links."""
    described = _described(state)
    messages = captured_mail(described["endpoint"])
    shown = messages[-last:] if last else messages
    print(f"{len(messages)} mail(s) captured" + (f", the last {len(shown)}:" if shown else "."))
    for number, message in enumerate(shown, start=len(messages) - len(shown) + 1):
        print(f"\n#{number}  To: {message['To']}\n     Subject: {message['Subject']}")
        if message["List-Unsubscribe"]:
            print(f"     List-Unsubscribe: {message['List-Unsubscribe']}")
            print(f"     List-Unsubscribe-Post: {message['List-Unsubscribe-Post']}")
        body = message.get_body(preferencelist=("plain",))
        text = str(body.get_content()) if body is not None else ""
        print("\n".join(f"   | {line}" for line in text.rstrip().splitlines()))
        for link in _LINK.findall(text):
            print(f"     link: {link}")
    return 0


def _services(described: dict[str, Any]) -> NewsletterServices:
    environment = described.get("newsletter") or {}
    config = Settings(
        table_name=described["table"],
        site_url=described["site"],
        subscribers_table=environment["BROADSHEET_SUBSCRIBERS_TABLE"],
        newsletter_secret_arn=environment["BROADSHEET_NEWSLETTER_SECRET_ARN"],
        newsletter_from=environment["BROADSHEET_NEWSLETTER_FROM"],
        mail_configuration_set=environment.get("BROADSHEET_MAIL_CONFIGURATION_SET", ""),
    )
    return build_newsletter(config)


def digest(state: Path) -> int:
    """Run the digest now, as the scheduled function does, against the running stack."""
    svc = _services(_described(state))
    report = run_digest(svc.settings, svc.index, svc.store, svc.keys, svc.mailer, now(svc.settings))
    print(
        f"digest: {report.subscribers} confirmed subscriber(s), {report.mailed} mail(s) with "
        f"{report.articles} article(s) sent, {report.refused} refused"
    )
    return 0


def bounce(state: Path, address: str, kind: Feedback) -> int:
    """Report the newest mail to `address` as bounced or complained about, as SES would.

    moto's SES reports nothing; this puts the event SES publishes through the configuration set
    on the feedback queue, tagged as the mailer tagged the mail, and the suppress function's
    poller applies it.
    """
    described = _described(state)
    svc = _services(described)
    wanted = normalise(address)
    sent = [
        message_id
        for message, message_id in zip(
            captured_mail(described["endpoint"]), captured_ids(described["endpoint"]), strict=True
        )
        if normalise(str(message["To"])) == wanted
    ]
    if not sent:
        print(f"no mail to {wanted} has been sent; nothing to report")
        return 1
    event = feedback_event(
        kind,
        wanted,
        svc.keys.identity(wanted),
        sent[-1],
        svc.settings.mail_configuration_set,
        now(svc.settings),
    )
    report_feedback(described["queues"][FEEDBACK_QUEUE], event)
    what = "complaint" if kind == "complaint" else f"{kind} bounce"
    print(f"reported a {what} for mail {sent[-1]} to {wanted}")
    return 0

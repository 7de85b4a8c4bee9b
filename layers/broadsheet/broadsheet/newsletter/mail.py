"""The newsletter's mails: composed from the site's one Jinja environment, sent through SES."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from broadsheet.errors import TransientError
from broadsheet.newsletter.models import SUBSCRIBER_TAG
from broadsheet.render.templating import environment
from broadsheet.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client


@dataclass(frozen=True)
class DigestItem:
    """One article as a digest lists it."""

    slug: str
    title: str
    teaser: str
    authors: str
    published: str
    url: str


class Mailer(Protocol):
    """Sends one composed message to one subscriber."""

    def send(self, message: EmailMessage, *, subscriber: str) -> None:
        """Send it, or raise: `TransientError` if trying again may work."""


class MailRefused(Exception):
    """The mail service refused the message for good (a bad address, an unverified sender)."""


class SesMailer:
    """Sends raw MIME messages through SES (v2), so the unsubscribe headers arrive as written.

    Every mail goes out under the configuration set (when there is one), whose event destination
    reports bounces and complaints, tagged with the subscriber it went to.
    """

    def __init__(self, client: SESV2Client, configuration_set: str = "") -> None:
        self.client = client
        self.configuration_set = configuration_set

    def send(self, message: EmailMessage, *, subscriber: str) -> None:
        """Send it, or raise: `TransientError` if trying again may work, else `MailRefused`."""
        options: dict[str, Any] = {"EmailTags": [{"Name": SUBSCRIBER_TAG, "Value": subscriber}]}
        if self.configuration_set:
            options["ConfigurationSetName"] = self.configuration_set
        try:
            self.client.send_email(
                FromEmailAddress=str(message["From"]),
                Destination={"ToAddresses": [str(message["To"])]},
                Content={"Raw": {"Data": message.as_bytes()}},
                **options,
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("TooManyRequestsException", "Throttling", "LimitExceededException"):
                raise TransientError(str(error)) from error
            raise MailRefused(str(error)) from error


def _site(settings: Settings) -> dict[str, str]:
    return {
        "name": settings.site_name,
        "url": settings.site_url.rstrip("/"),
        "language": settings.language,
    }


def _message(
    settings: Settings, to: str, subject: str, template: str, context: dict[str, Any]
) -> EmailMessage:
    env = environment()
    message = EmailMessage()
    message["From"] = formataddr((settings.site_name, settings.newsletter_from))
    message["To"] = to
    message["Subject"] = subject
    message.set_content(env.get_template(f"mail/{template}.txt").render(**context))
    message.add_alternative(env.get_template(f"mail/{template}.html").render(**context), subtype="html")
    return message


def confirmation_mail(settings: Settings, to: str, confirm_url: str, valid_hours: int) -> EmailMessage:
    """The double opt-in mail: one signed link that confirms the subscription."""
    context = {"site": _site(settings), "confirm_url": confirm_url, "valid_hours": valid_hours}
    return _message(settings, to, f"Confirm your subscription to {settings.site_name}", "confirm", context)


def digest_mail(
    settings: Settings, to: str, items: list[DigestItem], more: int, unsubscribe_url: str
) -> EmailMessage:
    """A digest: the articles, HTML and plain text, with one-click unsubscribe (RFC 8058)."""
    context = {"site": _site(settings), "articles": items, "more": more, "unsubscribe_url": unsubscribe_url}
    count = len(items) + more
    subject = f"{settings.site_name}: {count} new article{'s' if count != 1 else ''}"
    message = _message(settings, to, subject, "digest", context)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message

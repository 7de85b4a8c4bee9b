"""Signing up, confirming and unsubscribing: the double opt-in flow, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

from broadsheet.newsletter.keys import NewsletterKeys, Purpose
from broadsheet.newsletter.mail import Mailer, confirmation_mail
from broadsheet.newsletter.models import Signup, Subscriber
from broadsheet.newsletter.origin import client_network
from broadsheet.newsletter.store import SubscriberStore
from broadsheet.observability import logger
from broadsheet.settings import Settings

# How long a confirmation link works; an unconfirmed signup lapses then too.
CONFIRM_VALID = timedelta(hours=48)
# Unsubscribe links must keep working in old mails.
UNSUBSCRIBE_VALID = timedelta(days=400)
# Signing up again within this time sends no second confirmation mail.
COOLDOWN = timedelta(minutes=15)
# At most RATE_LIMIT signups per client in a fixed window of RATE_WINDOW.
RATE_LIMIT = 5
RATE_WINDOW = timedelta(minutes=10)
API_PATH = "/api"


class Outcome(Enum):
    """What became of a signup; readers see the same page for every accepted one."""

    ACCEPTED = "accepted"
    ROBOT = "robot"
    LIMITED = "limited"


@dataclass(frozen=True)
class Limited:
    """A client over its rate: when it may try again."""

    retry_after: int


def link(settings: Settings, keys: NewsletterKeys, purpose: Purpose, subscriber: str, now: datetime) -> str:
    """The signed, expiring address a mail links to."""
    valid = CONFIRM_VALID if purpose == "confirm" else UNSUBSCRIBE_VALID
    token = keys.token(purpose, subscriber, now + valid)
    return f"{settings.site_url.rstrip('/')}{API_PATH}/{purpose}?{urlencode({'token': token})}"


class Newsletter:
    """The signup flow over a store, the keys and a mailer."""

    def __init__(
        self, settings: Settings, store: SubscriberStore, keys: NewsletterKeys, mailer: Mailer
    ) -> None:
        self.settings = settings
        self.store = store
        self.keys = keys
        self.mailer = mailer

    def rate_limited(self, client_ip: str, now: datetime) -> Limited | None:
        """Count a signup attempt of a client's network (IPv4 address, IPv6 /64); how long to wait
        if it is over its rate."""
        window_seconds = int(RATE_WINDOW.total_seconds())
        start = datetime.fromtimestamp(int(now.timestamp()) // window_seconds * window_seconds, now.tzinfo)
        hits = self.store.count_hit(self.keys.client(client_network(client_ip)), start, RATE_WINDOW)
        if hits <= RATE_LIMIT:
            return None
        return Limited(retry_after=max(1, int((start + RATE_WINDOW - now).total_seconds())))

    def subscribe(self, signup: Signup, now: datetime) -> Outcome:
        """Store an unconfirmed signup and mail its confirmation link, at most once per cool-down."""
        if signup.is_robot:
            logger.info("signup refused", extra={"reason": "trap field filled in"})
            return Outcome.ROBOT
        identity = self.keys.identity(signup.email)
        pending = Subscriber(
            id=identity,
            sealed=self.keys.seal(signup.email, identity),
            status="pending",
            created=now,
            mailed=now,
            expires=now + CONFIRM_VALID,
        )
        if not self.store.add_pending(pending) and not self.store.claim_confirmation_mail(
            identity, now, COOLDOWN
        ):
            # Confirmed already, or mailed within the cool-down: nothing to send, and the reader
            # sees the same answer (the page must not tell who subscribes).
            logger.info("signup repeated", extra={"subscriber": identity[:12]})
            return Outcome.ACCEPTED
        url = link(self.settings, self.keys, "confirm", identity, now)
        hours = int(CONFIRM_VALID.total_seconds() // 3600)
        self.mailer.send(confirmation_mail(self.settings, signup.email, url, hours), subscriber=identity)
        logger.info("confirmation mailed", extra={"subscriber": identity[:12]})
        return Outcome.ACCEPTED

    def confirm(self, token: str, now: datetime) -> bool:
        """Confirm the signup a link stands for; `BadToken` if the link is not good."""
        subscriber = self.keys.verify(token, "confirm", now).subscriber
        confirmed = self.store.confirm(subscriber, now)
        logger.info(
            "subscription confirmed" if confirmed else "nothing to confirm",
            extra={"subscriber": subscriber[:12]},
        )
        return confirmed

    def unsubscribe(self, token: str, now: datetime) -> None:
        """Forget the subscriber a link stands for, at once; `BadToken` if the link is not good."""
        subscriber = self.keys.verify(token, "unsubscribe", now).subscriber
        self.store.remove(subscriber)
        logger.info("unsubscribed", extra={"subscriber": subscriber[:12]})

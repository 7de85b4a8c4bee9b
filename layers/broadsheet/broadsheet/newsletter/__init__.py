"""The newsletter: signup with double opt-in, signed links, sealed addresses, and the digest."""

from broadsheet.newsletter.digest import DigestIncomplete, DigestReport, run_digest
from broadsheet.newsletter.keys import BadToken, NewsletterKeys
from broadsheet.newsletter.mail import Mailer, SesMailer
from broadsheet.newsletter.models import Signup, Subscriber
from broadsheet.newsletter.signup import Newsletter, Outcome
from broadsheet.newsletter.store import DynamoSubscribers, SubscriberStore

__all__ = [
    "BadToken",
    "DigestIncomplete",
    "DigestReport",
    "DynamoSubscribers",
    "Mailer",
    "Newsletter",
    "NewsletterKeys",
    "Outcome",
    "SesMailer",
    "Signup",
    "Subscriber",
    "SubscriberStore",
    "run_digest",
]

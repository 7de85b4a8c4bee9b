"""Bounces and complaints: SES says a mail did not arrive or was reported; stop mailing that address.

Every newsletter mail goes out under the stack's SES configuration set, tagged with the
subscriber it went to. The configuration set publishes bounce and complaint events to an SNS
topic, which delivers them (raw) to the feedback queue; the suppress function reads them here:

- a complaint, or a permanent bounce (the mailbox does not exist), suppresses the subscriber at
  once: suppressed subscribers get no digest and no confirmation mail, ever;
- a transient bounce (mailbox full, server unavailable) is counted per mail, so a redelivered
  event counts once, and `SOFT_BOUNCE_LIMIT` mails bouncing so suppress the subscriber too;
- an event without a subscriber tag is not about a newsletter mail and is acknowledged.

Every step is idempotent, so SQS's at-least-once delivery is harmless.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from broadsheet.newsletter.models import SUBSCRIBER_TAG
from broadsheet.newsletter.store import SubscriberStore
from broadsheet.observability import logger, metrics

# Mails that bounce for now before a subscriber is suppressed (no delivery events are
# subscribed to, so the count is never reset; three such bounces mean a mailbox that is not read).
SOFT_BOUNCE_LIMIT = 3
_IDENTITY = re.compile(r"[0-9a-f]{64}")


class Verdict(Enum):
    """What one event did to its subscriber."""

    SUPPRESSED = "suppressed"
    COUNTED = "counted"
    IGNORED = "ignored"


class _SesPart(BaseModel):
    # SES adds fields over time; only the few read here are the contract.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class SentMail(_SesPart):
    """The mail an event is about: its SES message id and its tags."""

    message_id: Annotated[str, Field(alias="messageId", min_length=1, max_length=256)]
    tags: dict[str, list[str]] = Field(default_factory=dict)


class Bounce(_SesPart):
    """A bounce: permanent (no such mailbox), transient (try later) or undetermined."""

    bounce_type: Literal["Permanent", "Transient", "Undetermined"] = Field(alias="bounceType")
    bounce_sub_type: str = Field(default="", alias="bounceSubType")


class Complaint(_SesPart):
    """A recipient reported the mail as spam."""

    feedback_type: str | None = Field(default=None, alias="complaintFeedbackType")


class MailEvent(_SesPart):
    """An SES event as the configuration set publishes it (or an identity notification)."""

    event_type: str = Field(validation_alias=AliasChoices("eventType", "notificationType"))
    mail: SentMail
    bounce: Bounce | None = None
    complaint: Complaint | None = None

    @property
    def subscriber(self) -> str | None:
        """The subscriber the mail went to, from its tag; None for a mail that is not ours."""
        values = self.mail.tags.get(SUBSCRIBER_TAG) or []
        return values[0] if values and _IDENTITY.fullmatch(values[0]) else None


def apply_feedback(event: MailEvent, store: SubscriberStore, now: datetime) -> Verdict:
    """Suppress or count the subscriber an SES event is about; what happened."""
    subscriber = event.subscriber
    if subscriber is None:
        logger.warning("mail feedback without a subscriber", extra={"event": event.event_type})
        return Verdict.IGNORED
    short = subscriber[:12]
    if event.event_type == "Complaint":
        return _suppress(store, subscriber, "complaint", now)
    if event.event_type != "Bounce" or event.bounce is None:
        logger.info("mail feedback ignored", extra={"event": event.event_type, "subscriber": short})
        return Verdict.IGNORED
    if event.bounce.bounce_type == "Permanent":
        return _suppress(store, subscriber, "permanent bounce", now)
    bounced = store.count_soft_bounce(subscriber, event.mail.message_id)
    logger.info("mail bounced for now", extra={"subscriber": short, "bounced_mails": bounced})
    if bounced >= SOFT_BOUNCE_LIMIT:
        return _suppress(store, subscriber, f"{bounced} transient bounces", now)
    return Verdict.COUNTED


def _suppress(store: SubscriberStore, subscriber: str, reason: str, now: datetime) -> Verdict:
    if not store.suppress(subscriber, reason, now):
        logger.info("nothing to suppress", extra={"subscriber": subscriber[:12], "reason": reason})
        return Verdict.IGNORED
    logger.info("subscriber suppressed", extra={"subscriber": subscriber[:12], "reason": reason})
    metrics.add_metric(name="SubscribersSuppressed", unit=MetricUnit.Count, value=1)
    return Verdict.SUPPRESSED


def feedback_record(record: SQSRecord, store: SubscriberStore, now: datetime) -> Verdict:
    """Apply one message of the feedback queue (the SES event itself: SNS raw delivery).

    A body that is not an SES event raises, so it is retried and ends in the queue's DLQ, where
    its alarm fires: nothing is dropped unseen.
    """
    return apply_feedback(MailEvent.model_validate_json(record.body), store, now)

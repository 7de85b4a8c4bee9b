"""Bounces and complaints: SES's events suppress the subscriber, and a suppressed subscriber is
never mailed again — no digest, no confirmation. Mail is tagged with its subscriber and sent
under the configuration set that reports them.

The subscribers table is moto's DynamoDB in this process; the SES events are the samples in
`events/` (the same payloads `sam local invoke SuppressFunction -e …` takes).
"""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.stub import Stubber

from broadsheet.index.ports import SourceVersion
from broadsheet.newsletter.digest import run_digest
from broadsheet.newsletter.feedback import (
    SOFT_BOUNCE_LIMIT,
    MailEvent,
    Verdict,
    apply_feedback,
    feedback_record,
)
from broadsheet.newsletter.keys import NewsletterKeys
from broadsheet.newsletter.mail import SesMailer, confirmation_mail
from broadsheet.newsletter.models import Signup
from broadsheet.newsletter.services import NewsletterServices
from broadsheet.newsletter.signup import Outcome
from broadsheet_dev.local.newsletter import feedback_event
from broadsheet_dev.local.pollers import LambdaContext, load_handler
from tests.unit.fakes import FakeIndex, make_article
from tests.unit.newsletter_support import CONFIG, Recorder, services, token_in

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
READER = "reader@example.com"


@pytest.fixture
def svc(dynamodb: DynamoDBClient, mailer: Recorder) -> NewsletterServices:
    return services(dynamodb, mailer)


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


def confirmed(svc: NewsletterServices, mailer: Recorder, address: str = READER) -> str:
    """Sign `address` up and confirm it; its subscriber id."""
    assert svc.flow.subscribe(Signup(email=address), T0) is Outcome.ACCEPTED
    assert svc.flow.confirm(token_in(mailer.to(address)[-1], "confirm"), T0 + timedelta(minutes=1))
    return svc.keys.identity(address)


def sample(name: str) -> dict[str, Any]:
    """The SES event inside a sample SQS payload."""
    body: dict[str, Any] = json.loads(json.loads((EVENTS / name).read_text())["Records"][0]["body"])
    return body


def event(kind: str, subscriber: str, message_id: str = "mail-1", address: str = READER) -> MailEvent:
    """An SES event as the configuration set publishes it (the local stack's rendering of one)."""
    raw = feedback_event(kind, address, subscriber, message_id, "broadsheet-mail", T0)  # type: ignore[arg-type]
    return MailEvent.model_validate(raw)


def item(dynamodb: DynamoDBClient, subscriber: str) -> dict[str, Any]:
    found = dynamodb.get_item(TableName="subscribers", Key={"pk": {"S": f"sub#{subscriber}"}}).get("Item")
    assert found is not None
    return dict(found)


def publish(index: FakeIndex, slug: str, published: datetime) -> None:
    article = make_article(slug, published_at=published.isoformat())
    index.put_article(article, SourceVersion("v1", 0), max(published, T0 + timedelta(days=1)), None)


def digest_to(svc: NewsletterServices, index: FakeIndex, mailer: Recorder, at: datetime) -> list[str]:
    """Run a digest; the addresses it mailed."""
    before = len(mailer.sent)
    run_digest(CONFIG, index, svc.store, svc.keys, mailer, at)
    return [str(m["To"]) for m in mailer.sent[before:]]


# -- what suppresses, and what a suppressed subscriber no longer gets --------------------------------------


def test_the_sample_events_are_ses_events_for_the_sample_subscriber(svc: NewsletterServices) -> None:
    bounce = MailEvent.model_validate(sample("suppress-sqs-ses-bounce.json"))
    complaint = MailEvent.model_validate(sample("suppress-sqs-ses-complaint.json"))
    assert bounce.bounce is not None
    assert bounce.bounce.bounce_type == "Permanent"
    assert complaint.complaint is not None
    assert bounce.subscriber == complaint.subscriber == svc.keys.identity(READER)


@pytest.mark.parametrize("kind", ["permanent", "complaint"])
def test_a_permanent_bounce_or_a_complaint_suppresses_and_the_next_digest_skips_them(
    svc: NewsletterServices, mailer: Recorder, index: FakeIndex, dynamodb: DynamoDBClient, kind: str
) -> None:
    reader = confirmed(svc, mailer)
    other = confirmed(svc, mailer, "other@example.com")
    publish(index, "first", T0 + timedelta(hours=1))
    assert sorted(digest_to(svc, index, mailer, T0 + timedelta(hours=2))) == ["other@example.com", READER]

    assert apply_feedback(event(kind, reader), svc.store, T0 + timedelta(hours=3)) is Verdict.SUPPRESSED

    stored = item(dynamodb, reader)
    assert stored["status"]["S"] == "suppressed"
    assert "sealed" not in stored, "an address never mailed again is not kept"
    publish(index, "second", T0 + timedelta(hours=4))
    assert digest_to(svc, index, mailer, T0 + timedelta(days=1)) == ["other@example.com"]
    assert item(dynamodb, other)["status"]["S"] == "confirmed"


def test_a_suppressed_address_signing_up_again_gets_no_mail(
    svc: NewsletterServices, mailer: Recorder, dynamodb: DynamoDBClient
) -> None:
    reader = confirmed(svc, mailer)
    apply_feedback(event("complaint", reader), svc.store, T0)
    sent = len(mailer.sent)
    for later in (T0 + timedelta(hours=1), T0 + timedelta(days=30)):
        assert svc.flow.subscribe(Signup(email=READER), later) is Outcome.ACCEPTED
    assert len(mailer.sent) == sent
    assert item(dynamodb, reader)["status"]["S"] == "suppressed"


def test_a_bounced_confirmation_suppresses_the_signup_and_its_link_no_longer_confirms(
    svc: NewsletterServices, mailer: Recorder, dynamodb: DynamoDBClient
) -> None:
    svc.flow.subscribe(Signup(email=READER), T0)
    link = token_in(mailer.sent[-1], "confirm")
    reader = svc.keys.identity(READER)
    assert apply_feedback(event("permanent", reader), svc.store, T0) is Verdict.SUPPRESSED
    assert not svc.flow.confirm(link, T0 + timedelta(minutes=5))
    stored = item(dynamodb, reader)
    assert stored["status"]["S"] == "suppressed"
    assert "expires" not in stored, "the suppression outlives the signup's lapse"


def test_transient_bounces_are_counted_per_mail_and_suppress_at_the_limit(
    svc: NewsletterServices, mailer: Recorder, index: FakeIndex, dynamodb: DynamoDBClient
) -> None:
    reader = confirmed(svc, mailer)
    for n in range(SOFT_BOUNCE_LIMIT - 1):
        assert apply_feedback(event("transient", reader, f"mail-{n}"), svc.store, T0) is Verdict.COUNTED
        # SQS delivers at least once: the same bounce again is not a second one.
        assert apply_feedback(event("transient", reader, f"mail-{n}"), svc.store, T0) is Verdict.COUNTED
    assert item(dynamodb, reader)["status"]["S"] == "confirmed"
    publish(index, "still-mailed", T0 + timedelta(hours=1))
    assert digest_to(svc, index, mailer, T0 + timedelta(hours=2)) == [READER]

    last = event("transient", reader, f"mail-{SOFT_BOUNCE_LIMIT}")
    assert apply_feedback(last, svc.store, T0) is Verdict.SUPPRESSED
    assert item(dynamodb, reader)["status"]["S"] == "suppressed"
    publish(index, "not-mailed", T0 + timedelta(hours=3))
    assert digest_to(svc, index, mailer, T0 + timedelta(days=1)) == []


def test_feedback_twice_suppresses_once(svc: NewsletterServices, mailer: Recorder) -> None:
    reader = confirmed(svc, mailer)
    assert apply_feedback(event("permanent", reader), svc.store, T0) is Verdict.SUPPRESSED
    assert apply_feedback(event("permanent", reader), svc.store, T0) is Verdict.IGNORED
    assert apply_feedback(event("complaint", reader), svc.store, T0) is Verdict.IGNORED


@pytest.mark.parametrize(
    "tags",
    [
        {},
        {"subscriber": []},
        {"subscriber": ["not-an-identity"]},
        {"subscriber": ["E" * 64]},
        {"ses:configuration-set": ["broadsheet-mail"]},
    ],
)
def test_feedback_about_a_mail_that_is_not_ours_changes_nothing(
    svc: NewsletterServices, mailer: Recorder, dynamodb: DynamoDBClient, tags: dict[str, list[str]]
) -> None:
    reader = confirmed(svc, mailer)
    raw = sample("suppress-sqs-ses-complaint.json")
    raw["mail"]["tags"] = tags
    assert apply_feedback(MailEvent.model_validate(raw), svc.store, T0) is Verdict.IGNORED
    assert item(dynamodb, reader)["status"]["S"] == "confirmed"


def test_feedback_for_a_subscriber_who_left_is_acknowledged(svc: NewsletterServices) -> None:
    gone = svc.keys.identity("gone@example.com")
    assert apply_feedback(event("permanent", gone), svc.store, T0) is Verdict.IGNORED
    assert apply_feedback(event("transient", gone), svc.store, T0) is Verdict.COUNTED


def test_delivery_and_other_events_are_ignored(svc: NewsletterServices, mailer: Recorder) -> None:
    reader = confirmed(svc, mailer)
    raw = sample("suppress-sqs-ses-bounce.json")
    raw["eventType"] = "Delivery"
    del raw["bounce"]
    raw["mail"]["tags"]["subscriber"] = [reader]
    assert apply_feedback(MailEvent.model_validate(raw), svc.store, T0) is Verdict.IGNORED


def test_an_identity_notification_in_the_older_format_is_read_too(
    svc: NewsletterServices, mailer: Recorder
) -> None:
    reader = confirmed(svc, mailer)
    raw = sample("suppress-sqs-ses-bounce.json")
    raw["notificationType"] = raw.pop("eventType")
    raw["mail"]["tags"]["subscriber"] = [reader]
    assert apply_feedback(MailEvent.model_validate(raw), svc.store, T0) is Verdict.SUPPRESSED


# -- the function, as Lambda calls it --------------------------------------------------------------


def test_the_suppress_function_applies_a_batch_and_reports_only_the_unreadable_record(
    svc: NewsletterServices, mailer: Recorder, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = confirmed(svc, mailer)
    assert reader == sample("suppress-sqs-ses-bounce.json")["mail"]["tags"]["subscriber"][0]
    handler = load_handler(ROOT, "functions/suppress/", "app.lambda_handler")
    # The module behind Powertools' decorators, whose `subscribers` the record handler calls.
    monkeypatch.setitem(inspect.unwrap(handler).__globals__, "subscribers", lambda: svc.store)
    payload = json.loads((EVENTS / "suppress-sqs-ses-bounce.json").read_text())
    garbled = {**payload["Records"][0], "messageId": "garbled", "body": '{"eventType": "Bounce"'}
    payload["Records"].append(garbled)

    response = handler(payload, LambdaContext("SuppressFunction"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "garbled"}]}
    assert item(dynamodb, reader)["status"]["S"] == "suppressed"


def test_a_record_that_is_not_an_ses_event_raises_so_it_is_retried_and_dead_lettered(
    svc: NewsletterServices,
) -> None:
    for body in ("", "[]", '{"eventType": "Bounce"}', '{"Type": "Notification", "Message": "{}"}'):
        with pytest.raises(ValueError, match=r"validation error|Invalid JSON|EOF"):
            feedback_record(SQSRecord({"messageId": "m", "body": body}), svc.store, T0)


# -- mail is tagged with its subscriber and sent under the configuration set ----------------------------


def test_every_mail_names_its_subscriber(svc: NewsletterServices, mailer: Recorder, index: FakeIndex) -> None:
    reader = confirmed(svc, mailer)
    publish(index, "first", T0 + timedelta(hours=1))
    digest_to(svc, index, mailer, T0 + timedelta(hours=2))
    assert mailer.subscribers == [reader, reader]


def test_ses_gets_the_configuration_set_and_the_subscriber_tag() -> None:
    client = boto3.client("sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    message: EmailMessage = confirmation_mail(
        CONFIG, READER, "https://news.example.com/api/confirm?token=t", 48
    )
    subscriber = NewsletterKeys(b"k" * 48).identity(READER)
    with Stubber(client) as stub:
        stub.add_response(
            "send_email",
            {"MessageId": "m-1"},
            {
                "FromEmailAddress": str(message["From"]),
                "Destination": {"ToAddresses": [READER]},
                "Content": {"Raw": {"Data": message.as_bytes()}},
                "EmailTags": [{"Name": "subscriber", "Value": subscriber}],
                "ConfigurationSetName": "broadsheet-mail",
            },
        )
        SesMailer(client, "broadsheet-mail").send(message, subscriber=subscriber)
        stub.assert_no_pending_responses()

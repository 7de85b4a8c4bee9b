"""The newsletter end to end on a local stack of its own: a reader in Chromium subscribes from a
page, confirms from the captured mail, gets a digest of a new article, unsubscribes in one click
and gets nothing more; every bad input is refused politely and stores nothing; a digest that
dies midway, run again, mails each subscriber each article exactly once; a request that did not
come through the edge is refused; and a bounce or complaint reported for a reader's mail goes
through the feedback queue to the suppress function, after which no digest reaches them.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from playwright.sync_api import Browser

from broadsheet.clock import now
from broadsheet.newsletter.digest import run_digest
from broadsheet.newsletter.mail import Mailer
from broadsheet.newsletter.models import Signup
from broadsheet.newsletter.services import build_newsletter, newsletter
from broadsheet.newsletter.signup import Outcome
from broadsheet.settings import settings
from broadsheet_dev.cli import main as broadsheet
from broadsheet_dev.local import mail_commands
from broadsheet_dev.local.newsletter import LocalApi, captured_mail, http_event
from broadsheet_dev.local.pollers import LambdaContext
from broadsheet_dev.local.runtime import LocalStack
from tests.support import Editor, real_clock_stack
from tests.waiting import wait_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A stack of its own on the real clock (the digest sends what was published since confirming).
pytestmark = [pytest.mark.e2e, pytest.mark.isolated]

READER = "reader@example.com"
FORM = "application/x-www-form-urlencoded"
BOUNDARY = "----mailclientBoundary0123456789"
POLL = 0.1


@pytest.fixture(scope="module")
def live() -> Iterator[LocalStack]:
    with real_clock_stack() as stack:
        stack.render_static_pages()
        Editor(stack).put_json("articles/opening-story.json", story("Opening story", minutes_ago=60))
        stack.wait_drained()
        yield stack
        newsletter.cache_clear()


@pytest.fixture(scope="module")
def state(live: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("state") / "stack.json"
    live.write_state(path)
    return path


def story(title: str, minutes_ago: float = 0) -> dict[str, object]:
    published = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "title": title,
        "teaser": f"The teaser of {title}.",
        "authors": ["Newsletter Desk"],
        "published_at": published.isoformat(timespec="seconds"),
        "body": f"The body of {title}.",
    }


def mails(live: LocalStack) -> list[EmailMessage]:
    return captured_mail(live.stack.endpoint)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(message: EmailMessage, purpose: str) -> str:
    text = text_of(message)
    start = text.index("http")
    for word in text[start:].split():
        if f"/api/{purpose}?token=" in word:
            return word
    raise AssertionError(f"no {purpose} link in {message['Subject']}")


def post(url: str, body: bytes, content_type: str = FORM) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def subscriber_items(live: LocalStack) -> list[str]:
    """The keys of the subscriber items in the table."""
    dynamodb: DynamoDBClient = boto3.client("dynamodb")
    table = live.newsletter_environment["BROADSHEET_SUBSCRIBERS_TABLE"]
    keys = [str(item["pk"]["S"]) for item in dynamodb.scan(TableName=table)["Items"]]
    return [key for key in keys if key.startswith("sub#")]


def test_a_reader_subscribes_confirms_gets_a_digest_unsubscribes_and_gets_nothing_more(
    live: LocalStack, browser: Browser, state: Path
) -> None:
    assert live.edge is not None
    site = live.edge.url
    page = browser.new_page()
    before = len(mails(live))

    page.goto(f"{site}/articles/opening-story/")
    page.get_by_label("Email address").fill(READER)
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(f"{site}/api/subscribe")
    assert page.get_by_role("heading", level=1).inner_text() == "Almost there: check your inbox"
    wait_for("the mail", lambda: len(mails(live)) == before + 1)
    confirmation = mails(live)[-1]
    assert confirmation["To"] == READER

    page.goto(link_in(confirmation, "confirm"))
    page.get_by_role("button", name="Confirm my subscription").click()
    assert page.get_by_role("heading", level=1).inner_text() == "You are subscribed"

    Editor(live).put_json("articles/fresh-news.json", story("Fresh news"))
    live.wait_drained()
    assert mail_commands.digest(state) == 0
    digest = mails(live)[-1]
    assert digest["To"] == READER
    assert "Fresh news" in text_of(digest)
    assert "Opening story" not in text_of(digest), "published before the reader confirmed"
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = str(digest["List-Unsubscribe"]).strip("<>")
    assert one_click == link_in(digest, "unsubscribe")

    # A mail client's one-click unsubscribe (RFC 8058): a POST to the header's address.
    status, answer = post(one_click, b"List-Unsubscribe=One-Click")
    assert status == 200
    assert "You are unsubscribed" in answer

    Editor(live).put_json("articles/later-news.json", story("Later news"))
    live.wait_drained()
    count = len(mails(live))
    assert mail_commands.digest(state) == 0
    assert len(mails(live)) == count
    page.close()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b"email=not-an-address&website=", FORM, 400, "Please check the address"),
        (b"email=" + b"a" * 3000 + b"%40example.com", FORM, 413, "That was too much"),
        (
            b"email=bot%40example.com&website=https%3A%2F%2Fspam.example",
            FORM,
            400,
            "could not accept this form",
        ),
        (b'{"email": "json@example.com"}', "application/json", 415, "We could not read that"),
        (b"email=%ff%fe%40example.com", FORM, 400, "Please check the address"),
    ],
)
def test_each_bad_input_gets_a_polite_page_and_stores_and_sends_nothing(
    live: LocalStack, body: bytes, content_type: str, status: int, says: str
) -> None:
    assert live.edge is not None
    stored, sent = len(subscriber_items(live)), len(mails(live))
    answered, page = post(f"{live.edge.url}/api/subscribe", body, content_type)
    assert answered == status
    assert says in page
    assert "<form" in page, "the answer offers the form again"
    assert len(subscriber_items(live)) == stored
    assert len(mails(live)) == sent


def test_a_burst_from_one_client_is_asked_to_wait_and_stores_nothing(live: LocalStack) -> None:
    assert live.edge is not None
    answers = [
        post(f"{live.edge.url}/api/subscribe", f"email=burst{n}%40example.com".encode())[0] for n in range(8)
    ]
    assert 429 in answers
    first_refusal = answers.index(429)
    assert all(status == 429 for status in answers[first_refusal:])
    stored = set(subscriber_items(live))
    identities = {f"sub#{newsletter().keys.identity(f'burst{n}@example.com')}" for n in range(8)}
    assert len(stored & identities) == first_refusal


def test_the_same_address_twice_is_not_an_error_and_sends_one_mail(live: LocalStack) -> None:
    svc = newsletter()
    sent = len(mails(live))
    for _ in range(2):
        svc.flow.subscribe(Signup(email="twice@example.com"), now(svc.settings))
    assert len(mails(live)) == sent + 1


class CrashingMailer:
    """SES, until the process "dies" right after its `after`-th mail."""

    def __init__(self, ses: Mailer, after: int) -> None:
        self.ses = ses
        self.after = after
        self.sent = 0

    def send(self, message: EmailMessage, *, subscriber: str) -> None:
        self.ses.send(message, subscriber=subscriber)
        self.sent += 1
        if self.sent == self.after:
            raise SystemExit("the digest died")


def test_a_digest_that_dies_midway_and_runs_again_sends_each_article_once(live: LocalStack) -> None:
    svc = build_newsletter(settings())
    readers = [f"crash{n}@example.com" for n in range(5)]
    for address in readers:
        svc.flow.subscribe(Signup(email=address), now(svc.settings))
        svc.flow.confirm(link_in(mails(live)[-1], "confirm").split("token=")[1], now(svc.settings))
    Editor(live).put_json("articles/crash-course.json", story("Crash course"))
    live.wait_drained()
    before = len(mails(live))

    with pytest.raises(SystemExit):
        run_digest(
            svc.settings, svc.index, svc.store, svc.keys, CrashingMailer(svc.mailer, 2), now(svc.settings)
        )
    assert len(mails(live)) == before + 2
    run_digest(svc.settings, svc.index, svc.store, svc.keys, svc.mailer, now(svc.settings))
    run_digest(svc.settings, svc.index, svc.store, svc.keys, svc.mailer, now(svc.settings))

    digests = [m for m in mails(live)[before:] if "Crash course" in text_of(m)]
    assert sorted(str(m["To"]) for m in digests) == sorted(readers)


def subscribed(live: LocalStack, address: str) -> None:
    """Sign `address` up and confirm it, as a reader would from the mail."""
    svc = newsletter()
    svc.flow.subscribe(Signup(email=address), now(svc.settings))
    confirmation = [m for m in mails(live) if m["To"] == address][-1]
    assert svc.flow.confirm(link_in(confirmation, "confirm").split("token=")[1], now(svc.settings))


def status_of(live: LocalStack, address: str) -> str:
    dynamodb: DynamoDBClient = boto3.client("dynamodb")
    table = live.newsletter_environment["BROADSHEET_SUBSCRIBERS_TABLE"]
    key = {"pk": {"S": f"sub#{newsletter().keys.identity(address)}"}}
    found = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
    return str(found.get("status", {}).get("S", "absent"))


def digest_reaches(live: LocalStack, state: Path, title: str) -> set[str]:
    """Publish an article called `title`, run the digest; who got it."""
    slug = title.lower().replace(" ", "-")
    Editor(live).put_json(f"articles/{slug}.json", story(title))
    live.wait_drained()
    before = len(mails(live))
    assert mail_commands.digest(state) == 0
    return {str(m["To"]) for m in mails(live)[before:] if title in text_of(m)}


def test_a_bounce_or_complaint_suppresses_the_reader_and_the_next_digest_skips_them(
    live: LocalStack, state: Path
) -> None:
    readers = ["dead@example.com", "spam-button@example.com", "full@example.com", "alive@example.com"]
    for address in readers:
        subscribed(live, address)
    assert digest_reaches(live, state, "Before the bounces") >= set(readers)

    # What SES reports for the newest mail to each, through the feedback queue and its poller;
    # the mailbox-full bounce delivered twice, as SQS may, counts once.
    assert broadsheet(["bounce", "dead@example.com", "--state", str(state)]) == 0
    complaint = ["bounce", "spam-button@example.com", "--kind", "complaint", "--state", str(state)]
    assert broadsheet(complaint) == 0
    for _ in range(2):
        assert mail_commands.bounce(state, "full@example.com", "transient") == 0
    live.wait_drained()
    assert [status_of(live, a) for a in readers] == ["suppressed", "suppressed", "confirmed", "confirmed"]

    reached = digest_reaches(live, state, "After the first bounces")
    assert "dead@example.com" not in reached
    assert "spam-button@example.com" not in reached
    assert {"full@example.com", "alive@example.com"} <= reached

    # Two more mails to the full mailbox bounce: three mails, so it is suppressed.
    assert mail_commands.bounce(state, "full@example.com", "transient") == 0
    live.wait_drained()
    assert status_of(live, "full@example.com") == "confirmed"
    assert "full@example.com" in digest_reaches(live, state, "One more for the full mailbox")
    assert mail_commands.bounce(state, "full@example.com", "transient") == 0
    live.wait_drained()
    assert status_of(live, "full@example.com") == "suppressed"
    reached = digest_reaches(live, state, "After the third bounce")
    assert "alive@example.com" in reached
    assert reached.isdisjoint({"dead@example.com", "spam-button@example.com", "full@example.com"})

    # Signing up again sends a suppressed address nothing.
    before = len(mails(live))
    svc = newsletter()
    assert svc.flow.subscribe(Signup(email="dead@example.com"), now(svc.settings)) is Outcome.ACCEPTED
    assert len(mails(live)) == before
    assert status_of(live, "dead@example.com") == "suppressed"


def site(live: LocalStack) -> str:
    assert live.edge is not None
    return live.edge.url


def test_one_click_unsubscribe_as_multipart_through_the_edge(live: LocalStack, state: Path) -> None:
    subscribed(live, "multipart@example.com")
    digest_reaches(live, state, "For the multipart reader")
    digest = [m for m in mails(live) if m["To"] == "multipart@example.com"][-1]
    one_click = str(digest["List-Unsubscribe"]).strip("<>")
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{BOUNDARY}--\r\n"
    ).encode()
    status, answer = post(one_click, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert status == 200
    assert "You are unsubscribed" in answer
    assert status_of(live, "multipart@example.com") == "absent"


def test_a_request_that_did_not_come_through_the_edge_is_refused(live: LocalStack) -> None:
    assert live.edge is not None
    api = live.edge.api
    assert isinstance(api, LocalApi)
    stored = len(subscriber_items(live))
    for origin in (None, {"X-Origin-Verify": "a guess"}):
        event = http_event(
            "POST", "/api/subscribe", {"Content-Type": FORM}, b"email=x%40example.com", "1.2.3.4", origin
        )
        assert api.handler(event, LambdaContext("SubscribeFunction"))["statusCode"] == 403
    assert len(subscriber_items(live)) == stored
    # The same request through the edge, which adds the header, passes the check (this module's
    # burst test may have used up the loopback client's signups, hence 429 is an answer too).
    assert post(f"{site(live)}/api/subscribe", b"email=edge%40example.com")[0] in (200, 429)

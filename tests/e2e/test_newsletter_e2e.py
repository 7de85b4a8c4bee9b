"""The newsletter end to end on a local stack of its own: a reader in Chromium subscribes from a
page, confirms from the captured mail, gets a digest of a new article, unsubscribes in one click
and gets nothing more; every bad input is refused politely and stores nothing; and a digest that
dies midway, run again, mails each subscriber each article exactly once.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from playwright.sync_api import Browser, sync_playwright

from broadsheet.clock import now
from broadsheet.local import mail_commands
from broadsheet.local.newsletter import captured_mail
from broadsheet.local.runtime import LocalStack
from broadsheet.newsletter import Signup, run_digest
from broadsheet.newsletter.mail import Mailer
from broadsheet.newsletter.services import build_newsletter, newsletter
from broadsheet.settings import settings
from tests.e2e.quality import CHROMIUM, CHROMIUM_FLAGS
from tests.support import Editor, real_clock_stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A stack of its own on the real clock (the digest sends what was published since confirming).
pytestmark = [pytest.mark.e2e, pytest.mark.isolated]

READER = "reader@example.com"
FORM = "application/x-www-form-urlencoded"
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
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        yield launched
        launched.close()


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


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not hold in time")
        time.sleep(POLL)


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
    wait_for(lambda: len(mails(live)) == before + 1)
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

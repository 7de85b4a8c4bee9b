"""The newsletter's logic: addresses, keys and links, the signup flow, and the digest's exactly-once rule.

The subscribers table is moto's DynamoDB in this process (no network); mail goes to a recorder.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from broadsheet.index.ports import SourceVersion
from broadsheet.newsletter.digest import MAX_ARTICLES, run_digest
from broadsheet.newsletter.keys import BadToken, NewsletterKeys
from broadsheet.newsletter.models import Signup
from broadsheet.newsletter.signup import CONFIRM_VALID, COOLDOWN, RATE_LIMIT, Newsletter, Outcome
from broadsheet.newsletter.store import DynamoSubscribers
from tests.unit.fakes import FakeIndex, make_article
from tests.unit.newsletter_support import CONFIG, SECRET, Crash, Recorder, token_in

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(dynamodb: DynamoDBClient) -> DynamoSubscribers:
    return DynamoSubscribers(dynamodb, "subscribers")


@pytest.fixture
def keys() -> NewsletterKeys:
    return NewsletterKeys(SECRET)


@pytest.fixture
def flow(store: DynamoSubscribers, keys: NewsletterKeys, mailer: Recorder) -> Newsletter:
    return Newsletter(CONFIG, store, keys, mailer)


def subscribe_and_confirm(flow: Newsletter, mailer: Recorder, address: str, at: datetime) -> None:
    assert flow.subscribe(Signup(email=address), at) is Outcome.ACCEPTED
    assert flow.confirm(token_in(mailer.to(address)[-1], "confirm"), at + timedelta(minutes=1))


# -- addresses, keys and links ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["reader@example.com", " Reader@Example.COM ", "a.b+news@mail.example.co.uk"]
)
def test_good_addresses_are_accepted_and_normalised(address: str) -> None:
    assert Signup(email=address).email == address.strip().lower()


@pytest.mark.parametrize(
    "address",
    ["", "reader", "reader@", "@example.com", "reader@example", "a b@example.com", "<a@example.com>",
     "reader@exa mple.com", "a..b@example.com",
     "\ufffd@example.com", "rëader@example.com", "x" * 65 + "@example.com", "a@" + "b" * 250 + ".com"],
)  # fmt: skip
def test_malformed_addresses_are_refused_with_a_plain_message(address: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Signup(email=address)
    assert (
        "name@example.com" in str(caught.value)
        or "at most" in str(caught.value)
        or "at least" in str(caught.value)
    )


def test_a_link_token_verifies_only_for_its_purpose_and_until_it_expires(keys: NewsletterKeys) -> None:
    reader, other = keys.identity("reader@example.com"), keys.identity("other@example.com")
    token = keys.token("confirm", reader, T0 + timedelta(hours=1))
    assert keys.verify(token, "confirm", T0).subscriber == reader
    with pytest.raises(BadToken, match="something else"):
        keys.verify(token, "unsubscribe", T0)
    with pytest.raises(BadToken, match="expired"):
        keys.verify(token, "confirm", T0 + timedelta(hours=2))
    forged = token.replace(f".{reader}.", f".{other}.")
    with pytest.raises(BadToken, match="not one we sent"):
        keys.verify(forged, "confirm", T0)
    with pytest.raises(BadToken, match="not one we sent"):
        NewsletterKeys(b"z" * 48).verify(token, "confirm", T0)
    with pytest.raises(BadToken, match="incomplete"):
        keys.verify("garbage", "confirm", T0)


def malformed_tokens(keys: NewsletterKeys) -> list[str]:
    """A good token's every way of being malformed: characters, lengths, parts, encodings."""
    good = keys.token("unsubscribe", keys.identity("reader@example.com"), T0 + timedelta(days=1))
    purpose, identity, expiry, signature = good.split(".")
    return [
        "",
        ".",
        "...",
        good + "\n",
        " " + good,
        good + ".",
        good + "x",
        good[:-1],
        good.replace("unsubscribe", "unsubscribé"),
        good.replace("unsubscribe", "UNSUBSCRIBE"),
        good[:-1] + "é",
        good[:-2] + "\u0663\u0664",  # Arabic-Indic digits, where isdigit() would pass
        ".".join([purpose, identity.upper(), expiry, signature]),
        ".".join([purpose, identity[:-1], expiry, signature]),
        ".".join([purpose, identity, "\u0661\u0662\u0663", signature]),
        ".".join([purpose, identity, "²", signature]),
        ".".join([purpose, identity, "-1", signature]),
        ".".join([purpose, identity, "9" * 13, signature]),
        ".".join([purpose, identity, expiry, signature + "="]),
        ".".join([purpose, identity, expiry, signature[:-1] + "+"]),
        ".".join([purpose, identity, expiry, signature[:-1] + "/"]),
        ".".join([purpose, identity, expiry, signature[:-1] + "\x00"]),
        ".".join([purpose, identity, expiry, signature[:-4]]),
        ".".join([purpose, identity, expiry, signature, signature]),
        ".".join([purpose, identity, expiry]),
        "\udcff" + good,
        "\ufeff" + good,
        good * 3,
        "x" * 100_000,
    ]


def test_every_malformed_token_is_a_bad_token_never_another_error(keys: NewsletterKeys) -> None:
    for token in malformed_tokens(keys):
        with pytest.raises(BadToken):
            keys.verify(token, "unsubscribe", T0)


def test_a_sealed_address_opens_only_for_its_own_subscriber(keys: NewsletterKeys) -> None:
    identity = keys.identity("reader@example.com")
    sealed = keys.seal("reader@example.com", identity)
    assert "reader" not in sealed
    assert keys.unseal(sealed, identity) == "reader@example.com"
    with pytest.raises(ValueError, match="does not belong"):
        keys.unseal(sealed, keys.identity("other@example.com"))
    assert identity != NewsletterKeys(b"z" * 48).identity("reader@example.com")


# -- the signup flow -----------------------------------------------------------------------------------


def test_signup_mails_a_confirmation_and_the_table_never_shows_the_address(
    flow: Newsletter, mailer: Recorder, dynamodb: DynamoDBClient
) -> None:
    assert flow.subscribe(Signup(email="Reader@Example.com"), T0) is Outcome.ACCEPTED
    (message,) = mailer.sent
    assert message["To"] == "reader@example.com"
    assert token_in(message, "confirm").startswith("confirm.")
    dump = json.dumps(dynamodb.scan(TableName="subscribers")["Items"])
    assert "reader" not in dump.lower()
    assert "example.com" not in dump.lower()


def test_the_same_address_twice_is_no_error_and_sends_no_second_mail_within_the_cooldown(
    flow: Newsletter, mailer: Recorder
) -> None:
    assert flow.subscribe(Signup(email="reader@example.com"), T0) is Outcome.ACCEPTED
    assert flow.subscribe(Signup(email="READER@example.com"), T0 + COOLDOWN / 2) is Outcome.ACCEPTED
    assert len(mailer.sent) == 1
    assert flow.subscribe(Signup(email="reader@example.com"), T0 + COOLDOWN) is Outcome.ACCEPTED
    assert len(mailer.sent) == 2


def test_a_confirmed_subscriber_signing_up_again_gets_no_mail(flow: Newsletter, mailer: Recorder) -> None:
    subscribe_and_confirm(flow, mailer, "reader@example.com", T0)
    assert flow.subscribe(Signup(email="reader@example.com"), T0 + timedelta(days=3)) is Outcome.ACCEPTED
    assert len(mailer.sent) == 1


def test_a_filled_in_trap_field_stores_and_sends_nothing(
    flow: Newsletter, mailer: Recorder, dynamodb: DynamoDBClient
) -> None:
    outcome = flow.subscribe(Signup(email="bot@example.com", website="http://spam.example"), T0)
    assert outcome is Outcome.ROBOT
    assert mailer.sent == []
    assert dynamodb.scan(TableName="subscribers")["Items"] == []


def test_a_burst_from_one_client_is_limited_and_others_are_not(flow: Newsletter) -> None:
    for _ in range(RATE_LIMIT):
        assert flow.rate_limited("203.0.113.9", T0) is None
    limited = flow.rate_limited("203.0.113.9", T0)
    assert limited is not None
    assert 0 < limited.retry_after <= 600
    assert flow.rate_limited("198.51.100.7", T0) is None
    assert flow.rate_limited("203.0.113.9", T0 + timedelta(minutes=10)) is None


def test_confirmation_works_once_the_link_is_followed_and_not_after_it_lapses(
    flow: Newsletter, mailer: Recorder, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    flow.subscribe(Signup(email="late@example.com"), T0)
    token = token_in(mailer.sent[0], "confirm")
    with pytest.raises(BadToken, match="expired"):
        flow.confirm(token, T0 + CONFIRM_VALID + timedelta(seconds=1))
    assert store.get(keys.identity("late@example.com"), T0 + CONFIRM_VALID + timedelta(seconds=1)) is None
    assert flow.confirm(token, T0 + timedelta(hours=1))
    assert flow.confirm(token, T0 + timedelta(hours=2)), "confirming twice is harmless"
    found = store.get(keys.identity("late@example.com"), T0 + timedelta(days=30))
    assert found is not None
    assert found.status == "confirmed"
    assert found.expires is None


def test_an_unconfirmed_signup_lapses_and_may_sign_up_afresh(
    flow: Newsletter, mailer: Recorder, dynamodb: DynamoDBClient
) -> None:
    flow.subscribe(Signup(email="reader@example.com"), T0)
    (item,) = dynamodb.scan(TableName="subscribers")["Items"]
    assert int(item["expires"]["N"]) == int((T0 + CONFIRM_VALID).timestamp())
    assert flow.subscribe(Signup(email="reader@example.com"), T0 + CONFIRM_VALID * 2) is Outcome.ACCEPTED
    assert len(mailer.sent) == 2


# -- the digest ------------------------------------------------------------------------------------------


def publish(index: FakeIndex, slug: str, published: datetime, **changes: object) -> None:
    article = make_article(slug, published_at=published.isoformat(), **changes)
    index.put_article(article, SourceVersion("v1", 0), max(published, T0 + timedelta(days=1)), None)


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


def digest(
    index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys, mailer: Recorder, at: datetime
) -> int:
    return run_digest(CONFIG, index, store, keys, mailer, at).mailed


def slugs_in(message: EmailMessage) -> list[str]:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return [
        line.split("/articles/")[1].rstrip("/")
        for line in body.get_content().splitlines()
        if "/articles/" in line
    ]


def test_a_digest_carries_new_live_articles_in_html_and_text_with_one_click_unsubscribe(
    flow: Newsletter, mailer: Recorder, index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    subscribe_and_confirm(flow, mailer, "reader@example.com", T0)
    publish(index, "before-confirming", T0 - timedelta(hours=1))
    publish(index, "fresh", T0 + timedelta(hours=2), title="Fresh <news> & views")
    publish(index, "a-draft", T0 + timedelta(hours=2), status="draft")
    publish(index, "expired", T0 + timedelta(hours=2), expires_at=(T0 + timedelta(hours=3)).isoformat())
    publish(index, "embargoed", T0 + timedelta(days=5))
    mailer.sent.clear()
    assert digest(index, store, keys, mailer, T0 + timedelta(hours=4)) == 1
    (message,) = mailer.sent
    assert slugs_in(message) == ["fresh"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith(
        "<https://news.example.com/api/unsubscribe?token=unsubscribe."
    )
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert "Fresh &lt;news&gt; &amp; views" in html.get_content()
    assert "https://news.example.com/articles/fresh/" in html.get_content()


def test_no_article_goes_twice_to_a_subscriber_and_each_new_one_goes_once(
    flow: Newsletter, mailer: Recorder, index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    subscribe_and_confirm(flow, mailer, "reader@example.com", T0)
    mailer.sent.clear()
    publish(index, "first", T0 + timedelta(hours=1))
    assert digest(index, store, keys, mailer, T0 + timedelta(hours=2)) == 1
    assert digest(index, store, keys, mailer, T0 + timedelta(hours=2)) == 0
    # Published just before the first run but indexed after it (an embargo lifting late).
    publish(index, "late", T0 + timedelta(hours=1, minutes=59))
    publish(index, "second", T0 + timedelta(hours=20))
    assert digest(index, store, keys, mailer, T0 + timedelta(days=1)) == 1
    assert [slugs_in(m) for m in mailer.sent] == [["first"], ["second", "late"]]


def test_an_unsubscribed_reader_gets_nothing_more(
    flow: Newsletter, mailer: Recorder, index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    subscribe_and_confirm(flow, mailer, "reader@example.com", T0)
    publish(index, "first", T0 + timedelta(hours=1))
    digest(index, store, keys, mailer, T0 + timedelta(hours=2))
    flow.unsubscribe(token_in(mailer.sent[-1], "unsubscribe"), T0 + timedelta(hours=3))
    publish(index, "second", T0 + timedelta(hours=4))
    mailer.sent.clear()
    assert digest(index, store, keys, mailer, T0 + timedelta(days=1)) == 0
    assert mailer.sent == []
    confirming = keys.token("confirm", keys.identity("anyone@example.com"), T0 + timedelta(days=1))
    with pytest.raises(BadToken, match="something else"):
        flow.unsubscribe(confirming, T0)


def test_a_digest_that_crashes_midway_resumes_and_sends_each_article_exactly_once(
    flow: Newsletter, mailer: Recorder, index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    readers = [f"reader{n}@example.com" for n in range(6)]
    for address in readers:
        subscribe_and_confirm(flow, mailer, address, T0)
    publish(index, "one", T0 + timedelta(hours=1))
    publish(index, "two", T0 + timedelta(hours=2))
    mailer.sent.clear()
    mailer.crash_after = 3
    with pytest.raises(Crash):
        digest(index, store, keys, mailer, T0 + timedelta(hours=3))
    assert len(mailer.sent) == 3
    mailer.crash_after = None
    digest(index, store, keys, mailer, T0 + timedelta(hours=3, minutes=5))
    digest(index, store, keys, mailer, T0 + timedelta(hours=4))
    delivered = {address: [slugs_in(m) for m in mailer.to(address)] for address in readers}
    # Five got the digest exactly once; the one whose mail was being sent as the run died
    # gets it never, not twice (the claim was made before the send).
    assert sorted(delivered.values()) == [[]] + [[["two", "one"]]] * 5


def test_a_refused_mail_releases_its_claim_and_goes_out_on_the_next_run(
    flow: Newsletter, mailer: Recorder, index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    subscribe_and_confirm(flow, mailer, "reader@example.com", T0)
    publish(index, "one", T0 + timedelta(hours=1))
    mailer.sent.clear()
    mailer.refuse = {"reader@example.com"}
    assert digest(index, store, keys, mailer, T0 + timedelta(hours=2)) == 0
    mailer.refuse = set()
    assert digest(index, store, keys, mailer, T0 + timedelta(hours=3)) == 1
    assert [slugs_in(m) for m in mailer.sent] == [["one"]]


def test_a_long_digest_is_cut_at_the_newest_articles_and_says_how_many_more(
    flow: Newsletter, mailer: Recorder, index: FakeIndex, store: DynamoSubscribers, keys: NewsletterKeys
) -> None:
    subscribe_and_confirm(flow, mailer, "reader@example.com", T0)
    for n in range(MAX_ARTICLES + 3):
        publish(index, f"story-{n:03d}", T0 + timedelta(hours=1, minutes=n))
    mailer.sent.clear()
    digest(index, store, keys, mailer, T0 + timedelta(hours=3))
    (message,) = mailer.sent
    assert len(slugs_in(message)) == MAX_ARTICLES
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "and 3 more" in text.get_content()

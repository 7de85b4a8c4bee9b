"""The newsletter's HTTP API under hostile input: it answers only CloudFront, refuses every
malformed token, body and encoding with a 4xx page (never a 500), takes RFC 8058 one-click
unsubscribes in both form encodings, and rate-limits IPv6 readers per /64.

The API runs in this process with the subscribers table on moto and a mail recorder; events are
HTTP API (payload 2.0) events as CloudFront forwards them.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet.newsletter import api
from broadsheet.newsletter.forms import MAX_BODY, FormRefused, read_form, request_body
from broadsheet.newsletter.keys import Purpose
from broadsheet.newsletter.origin import OriginGuard, client_network, viewer_address
from broadsheet.newsletter.services import NewsletterServices
from broadsheet.newsletter.signup import RATE_LIMIT
from tests.unit.newsletter_support import (
    BOUNDARY,
    MULTIPART,
    ORIGIN_SECRET,
    URLENCODED,
    Answer,
    Recorder,
    call,
    http_event,
    multipart,
    services,
    token_in,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]
READER = "reader@example.com"
TOKEN_ROUTES = [
    ("GET", "/api/confirm"),
    ("POST", "/api/confirm"),
    ("GET", "/api/unsubscribe"),
    ("POST", "/api/unsubscribe"),
]
ALL_ROUTES = [*TOKEN_ROUTES, ("POST", "/api/subscribe"), ("GET", "/api/nothing-here")]
# Fuzzing keeps one table across examples: what it stores is never read back.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def svc(dynamodb: DynamoDBClient, mailer: Recorder, monkeypatch: pytest.MonkeyPatch) -> NewsletterServices:
    built = services(dynamodb, mailer)
    monkeypatch.setattr(api, "newsletter", lambda: built)
    monkeypatch.setattr(api, "origin_guard", lambda: OriginGuard(ORIGIN_SECRET))
    monkeypatch.setattr(api, "now", lambda _settings: datetime.now(UTC))
    return built


def subscribers(dynamodb: DynamoDBClient) -> list[str]:
    return [
        str(item["pk"]["S"])
        for item in dynamodb.scan(TableName="subscribers")["Items"]
        if str(item["pk"]["S"]).startswith("sub#")
    ]


def subscribe(address: str, viewer: str = "203.0.113.9:46532") -> Answer:
    return call(
        http_event("POST", "/api/subscribe", body=urlencode({"email": address}).encode(), viewer=viewer)
    )


def confirmed_reader(svc: NewsletterServices, mailer: Recorder) -> str:
    """Subscribe and confirm READER through the API; their unsubscribe token."""
    assert subscribe(READER).status == 200
    confirm = token_in(mailer.to(READER)[-1], "confirm")
    assert call(http_event("POST", "/api/confirm", body=urlencode({"token": confirm}).encode())).status == 200
    identity = svc.keys.identity(READER)
    return svc.keys.token("unsubscribe", identity, datetime.now(UTC) + timedelta(days=1))


def refusal(event: dict[str, object]) -> int:
    """The status a request whose token is malformed gets: 400, or 413 if its body is too large."""
    return 413 if len(base64.b64decode(str(event["body"]))) > MAX_BODY else 400


def token_request(method: str, path: str, token: str, encoding: str) -> dict[str, object]:
    """A request carrying `token` in the query (GET, or a one-click POST) or in a form body."""
    if method == "GET" or encoding == "query":
        return http_event(method, path, query={"token": token})
    raw = token.encode("utf-8", errors="surrogatepass")
    if encoding == "multipart":
        return http_event(method, path, body=multipart({"token": raw}), content_type=MULTIPART)
    return http_event(method, path, body=b"token=" + quote(raw).encode())


# -- only through CloudFront ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
@pytest.mark.parametrize("origin", [None, "", "wrong", ORIGIN_SECRET[:-1], ORIGIN_SECRET + "x", "é" * 48])
def test_a_request_without_the_origin_secret_is_refused_before_any_route(
    svc: NewsletterServices, dynamodb: DynamoDBClient, method: str, path: str, origin: str | None
) -> None:
    event = http_event(method, path, body=urlencode({"email": READER}).encode(), origin=origin)
    answer = call(event)
    assert answer.status == 403
    assert answer.headers["cache-control"] == "no-store"
    assert subscribers(dynamodb) == []


def test_a_forged_viewer_address_sent_straight_to_the_api_stores_nothing(
    svc: NewsletterServices, dynamodb: DynamoDBClient, mailer: Recorder
) -> None:
    for n in range(RATE_LIMIT * 3):
        event = http_event(
            "POST",
            "/api/subscribe",
            body=urlencode({"email": f"r{n}@example.com"}).encode(),
            origin=None,
            viewer=f"198.51.100.{n}:1",
        )
        assert call(event).status == 403
    assert subscribers(dynamodb) == []
    assert mailer.sent == []


@given(header=st.text(st.characters(codec=None)))
@FUZZ
def test_the_origin_guard_admits_its_secret_alone(header: str) -> None:
    guard = OriginGuard(ORIGIN_SECRET)
    assert guard.admits(ORIGIN_SECRET)
    assert guard.admits(header) == (header == ORIGIN_SECRET)


def test_the_sample_event_is_answered_with_the_secret_and_refused_without(
    svc: NewsletterServices, mailer: Recorder
) -> None:
    event = json.loads((ROOT / "events" / "subscribe-http-api.json").read_text())
    assert event["headers"]["x-origin-verify"] != ORIGIN_SECRET
    assert call(event).status == 403
    event["headers"]["x-origin-verify"] = ORIGIN_SECRET
    assert call(event).status == 200
    assert [str(m["To"]) for m in mailer.sent] == [READER]


def test_the_origin_guard_refuses_a_short_secret() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        OriginGuard("short")


# -- malformed tokens are 400, whatever they hold and however they come -----------------------------


@pytest.mark.parametrize(("method", "path"), TOKEN_ROUTES)
@pytest.mark.parametrize("encoding", ["query", "urlencoded", "multipart"])
@pytest.mark.parametrize(
    "token",
    ["unsubscribé.x.1.y", "confirm.\u0663.1.x", "a" * 5000, "", "\udcff", "😀" * 40],
)
def test_a_malformed_token_is_answered_400_with_a_page(
    svc: NewsletterServices, method: str, path: str, encoding: str, token: str
) -> None:
    event = token_request(method, path, token, encoding)
    answer = call(event)
    assert answer.status == refusal(event)
    if answer.status == 400:
        # A token that is not even text (invalid UTF-8 in a multipart field) is an unreadable form.
        assert "This link does not work" in answer.body or "We could not read that" in answer.body


ANY_TEXT = st.text(st.characters(codec=None))
# Tokens near the real shape, part by part: a real-looking part or any text at all, so the
# checks behind the first (four parts, digits) are reached with hostile content.
TOKEN_PARTS = st.tuples(
    st.one_of(st.sampled_from(["confirm", "unsubscribe"]), ANY_TEXT),
    st.one_of(st.text("0123456789abcdef", min_size=64, max_size=64), ANY_TEXT),
    st.one_of(st.integers(min_value=0, max_value=10**13).map(str), st.text(st.characters(categories=["Nd"]))),
    st.one_of(st.text("ABCxyz019-_", min_size=43, max_size=43), ANY_TEXT),
).map(".".join)


@given(
    route=st.sampled_from(TOKEN_ROUTES),
    encoding=st.sampled_from(["query", "urlencoded", "multipart"]),
    token=st.one_of(TOKEN_PARTS, ANY_TEXT, st.text(), st.binary().map(lambda b: b.decode("latin-1"))),
)
@FUZZ
def test_any_string_as_a_token_is_answered_400(
    svc: NewsletterServices, route: tuple[str, str], encoding: str, token: str
) -> None:
    method, path = route
    event = token_request(method, path, token, encoding)
    assert call(event).status == refusal(event)


@given(
    route=st.sampled_from(TOKEN_ROUTES),
    mutation=st.tuples(st.integers(min_value=0, max_value=200), st.characters(codec=None)),
)
@FUZZ
def test_a_genuine_token_changed_anywhere_is_answered_400(
    svc: NewsletterServices, route: tuple[str, str], mutation: tuple[int, str]
) -> None:
    method, path = route
    purpose: Purpose = "confirm" if "confirm" in path else "unsubscribe"
    good = svc.keys.token(purpose, svc.keys.identity(READER), datetime.now(UTC) + timedelta(days=1))
    at, character = mutation
    at %= len(good) + 1
    changed = good[:at] + character + good[at + 1 :]
    if changed == good:
        return
    assert call(token_request(method, path, changed, "query")).status == 400


CONTENT_TYPES = [
    URLENCODED,
    MULTIPART,
    "multipart/form-data",
    'multipart/form-data; boundary=""',
    "multipart/form-data; boundary=x\r\nX-Injected: 1",
    "multipart/mixed; boundary=x",
    "application/json",
    "text/plain; charset=utf-8",
    "",
    None,
]


@given(
    route=st.sampled_from([*TOKEN_ROUTES[1::2], ("POST", "/api/subscribe")]),
    content_type=st.one_of(st.sampled_from(CONTENT_TYPES), st.text(st.characters(codec=None), max_size=80)),
    body=st.one_of(
        st.binary(max_size=MAX_BODY + 64),
        st.binary(max_size=300).map(lambda b: multipart({"token": b, "List-Unsubscribe": b"One-Click"})),
        st.binary(max_size=300).map(lambda b: f"--{BOUNDARY}\r\n".encode() + b),
    ),
    base64_encoded=st.booleans(),
)
@FUZZ
def test_any_body_in_any_encoding_gets_a_4xx_page_never_an_error(
    svc: NewsletterServices,
    route: tuple[str, str],
    content_type: str | None,
    body: bytes,
    base64_encoded: bool,
) -> None:
    method, path = route
    event = http_event(method, path, body=body, content_type=content_type, base64_encoded=base64_encoded)
    answer = call(event)
    assert answer.status in ({200, 400, 413, 415, 429} if path.endswith("subscribe") else {400, 413, 415})
    assert "<form" in answer.body


@given(body=st.text(st.characters(codec=None), max_size=200), content_type=st.sampled_from(CONTENT_TYPES))
@FUZZ
def test_a_body_that_claims_base64_but_is_not_is_answered_400(
    svc: NewsletterServices, body: str, content_type: str | None
) -> None:
    try:
        base64.b64decode(body, validate=True)
    except ValueError:
        answer = call(http_event("POST", "/api/unsubscribe", body=body, content_type=content_type))
        assert answer.status == 400


def test_a_body_over_the_limit_is_413_in_either_encoding(svc: NewsletterServices) -> None:
    big = b"x" * (MAX_BODY + 1)
    for content_type, body in ((URLENCODED, b"token=" + big), (MULTIPART, multipart({"token": big}))):
        answer = call(http_event("POST", "/api/unsubscribe", body=body, content_type=content_type))
        assert answer.status == 413


# -- one-click unsubscribe (RFC 8058) in both encodings --------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (URLENCODED, b"List-Unsubscribe=One-Click"),
        (MULTIPART, multipart({"List-Unsubscribe": b"One-Click"})),
        # As some clients write it: quoted boundary, a charset, base64 transfer encoding.
        (
            f'multipart/form-data; charset=utf-8; boundary="{BOUNDARY}"',
            (
                f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=List-Unsubscribe\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n{base64.b64encode(b'One-Click').decode()}\r\n"
                f"--{BOUNDARY}--\r\n"
            ).encode(),
        ),
    ],
)
def test_one_click_unsubscribe_works_urlencoded_and_multipart(
    svc: NewsletterServices, mailer: Recorder, dynamodb: DynamoDBClient, content_type: str, body: bytes
) -> None:
    token = confirmed_reader(svc, mailer)
    assert subscribers(dynamodb) == [f"sub#{svc.keys.identity(READER)}"]
    answer = call(
        http_event("POST", "/api/unsubscribe", query={"token": token}, body=body, content_type=content_type)
    )
    assert answer.status == 200
    assert "You are unsubscribed" in answer.body
    assert subscribers(dynamodb) == []


def test_the_pages_button_posts_the_token_in_a_multipart_form_too(
    svc: NewsletterServices, mailer: Recorder, dynamodb: DynamoDBClient
) -> None:
    token = confirmed_reader(svc, mailer)
    body = multipart({"token": token.encode()})
    assert call(http_event("POST", "/api/unsubscribe", body=body, content_type=MULTIPART)).status == 200
    assert subscribers(dynamodb) == []


def test_multipart_reading_takes_plain_fields_and_skips_files() -> None:
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="upload"; filename="a.txt"\r\n\r\nfile\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="email"\r\n\r\nreader@example.com\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="email"\r\n\r\nsecond@example.com\r\n'
        f"--{BOUNDARY}--\r\n"
    ).encode()
    assert read_form(body, MULTIPART) == {"email": "reader@example.com"}


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"x" * (MAX_BODY + 1), URLENCODED, 413),
        (b"a=1", "application/json", 415),
        (b"a=1", "", 415),
        (b"\xff=\xfe", URLENCODED, 400),
        (b"no parts at all", MULTIPART, 400),
        (multipart({"a": b"1"}, boundary="other"), MULTIPART, 400),
        (multipart({f"f{n}": b"1" for n in range(30)}, boundary="b"), "multipart/form-data; boundary=b", 400),
        (multipart({"a": b"\xff\xfe"}), MULTIPART, 400),
        (
            f"--{BOUNDARY}\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nx\r\n--in--\r\n"
            f"--{BOUNDARY}--\r\n".encode(),
            MULTIPART,
            400,
        ),
        (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=a\r\nContent-Type: text/plain; "
            f"charset=no-such-charset\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
            MULTIPART,
            400,
        ),
    ],
)
def test_forms_we_cannot_read_are_refused_with_their_status(
    data: bytes, content_type: str, status: int
) -> None:
    with pytest.raises(FormRefused) as refused:
        read_form(data, content_type)
    assert refused.value.status == status


def test_a_garbled_base64_body_is_refused() -> None:
    with pytest.raises(FormRefused):
        request_body("not base64!", True)
    assert request_body(base64.b64encode(b"a=1").decode(), True) == b"a=1"
    assert request_body("a=1", False) == b"a=1"


# -- rate limits per IPv4 address and per IPv6 /64 -------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("198.51.100.10:46532", "198.51.100.10"),
        ("2001:db8:85a3::8a2e:370:7334:46532", "2001:db8:85a3::8a2e:370:7334"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:203.0.113.9:1234", "::ffff:cb00:7109"),
        ("not-an-address:80", None),
        ("", None),
        (None, None),
        ("é:1", None),
    ],
)
def test_the_viewer_address_is_read_from_cloudfronts_header(header: str | None, address: str | None) -> None:
    assert viewer_address(header) == address


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_clients_are_counted_per_ipv4_address_and_per_ipv6_64(address: str, network: str) -> None:
    assert client_network(address) == network


def test_one_ipv6_64_is_limited_as_one_client_and_its_neighbours_are_not(
    svc: NewsletterServices, dynamodb: DynamoDBClient
) -> None:
    answers = [
        subscribe(f"v6-{n}@example.com", viewer=f"2001:db8:1:2:{n:x}:{n:x}:{n:x}:{n + 1:x}:443").status
        for n in range(RATE_LIMIT + 2)
    ]
    assert answers == [200] * RATE_LIMIT + [429, 429]
    assert subscribe("neighbour@example.com", viewer="2001:db8:1:3::1:443").status == 200
    assert subscribe("v4@example.com", viewer="203.0.113.9:443").status == 200
    assert len(subscribers(dynamodb)) == RATE_LIMIT + 2


def test_ipv4_clients_are_limited_per_address(svc: NewsletterServices) -> None:
    for n in range(RATE_LIMIT):
        assert subscribe(f"v4-{n}@example.com", viewer="198.51.100.7:1000").status == 200
    limited = subscribe("v4-late@example.com", viewer="198.51.100.7:1001")
    assert limited.status == 429
    assert 0 < int(limited.headers["retry-after"]) <= 600
    assert subscribe("v4-other@example.com", viewer="198.51.100.8:1000").status == 200


@given(viewer=st.text(st.characters(codec=None), max_size=60))
@FUZZ
def test_any_viewer_address_header_is_survived(svc: NewsletterServices, viewer: str) -> None:
    assert subscribe("fuzz@example.com", viewer=viewer).status in (200, 429)

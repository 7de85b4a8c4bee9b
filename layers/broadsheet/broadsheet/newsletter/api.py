"""The newsletter's HTTP API: the signup form's target and the links in its mails.

Served on the site's own origin under `/api/` (CloudFront routes it to the HTTP API; locally
the edge server does), so the pages' `form-action 'self'` allows the form, and every answer is
an HTML page styled by the site's stylesheet — no JavaScript anywhere.

GET on a mail's link never changes anything (mail scanners follow links): it shows a page with
one button, which POSTs. Mail clients' one-click unsubscribe (RFC 8058) POSTs to the link itself,
URL-encoded or multipart.

Only requests CloudFront forwarded are answered (`broadsheet.newsletter.origin`): anything else
gets 403 before any route runs. Whatever a request carries, a malformed token, body or address
gets a polite 4xx page, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import ValidationError

from broadsheet.clock import now
from broadsheet.newsletter.forms import FormRefused, read_form, request_body
from broadsheet.newsletter.keys import BadToken
from broadsheet.newsletter.models import Signup
from broadsheet.newsletter.origin import ORIGIN_HEADER, viewer_address
from broadsheet.newsletter.services import newsletter, origin_guard
from broadsheet.newsletter.signup import API_PATH, Outcome
from broadsheet.observability import logger
from broadsheet.render.templating import HTML, environment, stylesheet

NO_STORE = "no-store"
TOO_LARGE = "The form sends one email address; nothing more fits."
USE_FORM = "Please use the signup form on any page of the site."
BAD_ADDRESS = "That does not look like an email address, such as name@example.com."
TOO_MANY = "We have had many signups from your connection. Please try again in a few minutes."
TRAP_FILLED = "A field meant to stay empty was filled in. If you are a person, please reload and try again."
LAPSED = "It was not confirmed in time. Please subscribe again with the form below."
UNSUBSCRIBED = "We will not send you any more email. You can subscribe again at any time."

app = APIGatewayHttpResolver()


def _only_through_the_edge(
    resolver: APIGatewayHttpResolver, next_middleware: Callable[[APIGatewayHttpResolver], Response[str]]
) -> Response[str]:
    """Refuse, before any route runs, every request that did not come through CloudFront."""
    if not origin_guard().admits(resolver.current_event.headers.get(ORIGIN_HEADER.lower())):
        logger.warning("request refused", extra={"reason": "not through the site's origin"})
        return Response(
            status_code=403,
            content_type="text/plain; charset=utf-8",
            body="Forbidden\n",
            headers={"Cache-Control": NO_STORE},
        )
    return next_middleware(resolver)


app.use(middlewares=[_only_through_the_edge])


@dataclass(frozen=True)
class Action:
    """A one-button form on an answer page."""

    url: str
    token: str
    label: str


@dataclass(frozen=True)
class Notice:
    """What an answer page says."""

    heading: str
    lines: tuple[str, ...]
    action: Action | None = None


def page(status: int, notice: Notice, headers: dict[str, str] | None = None) -> Response[str]:
    """An answer as an HTML page of the site."""
    config = newsletter().settings
    site_url = config.site_url.rstrip("/")
    context = {
        "site": {
            "name": config.site_name,
            "url": site_url,
            "description": config.site_description,
            "language": config.language,
        },
        "page": {
            "title": f"{notice.heading} — {config.site_name}",
            "description": notice.lines[0] if notice.lines else notice.heading,
            "canonical": f"{site_url}{API_PATH}/subscribe",
            "path": f"{API_PATH}/",
            "kind": "newsletter",
            "language": config.language,
            "feeds": [],
            "jsonld": [],
            "og_type": "website",
            "breadcrumbs": [],
            "robots": "noindex",
        },
        "css_href": "/" + stylesheet().key,
        "notice": notice,
    }
    body = environment().get_template("newsletter.html").render(**context)
    return Response(
        status_code=status,
        content_type=HTML,
        body=body,
        headers={"Cache-Control": NO_STORE, **(headers or {})},
    )


def _form() -> dict[str, str] | Response[str]:
    """The request's form fields (first value of each), or the answer to a body we refuse."""
    event = app.current_event
    try:
        data = request_body(event.body, bool(event.is_base64_encoded))
        return read_form(data, event.headers.get("content-type") or "")
    except FormRefused as refused:
        if refused.status == 413:
            return page(413, Notice("That was too much", (TOO_LARGE,)))
        return page(refused.status, Notice("We could not read that", (USE_FORM,)))


def _client_ip() -> str:
    """The reader's address: CloudFront's viewer address (trusted: only CloudFront gets this far)."""
    event = app.current_event
    viewer = viewer_address(event.headers.get("cloudfront-viewer-address"))
    return viewer or event.request_context.http.source_ip


@app.post(f"{API_PATH}/subscribe")
def subscribe() -> Response[str]:
    """The signup form: store nothing unless the address is good, the trap empty, the rate fine."""
    form = _form()
    if isinstance(form, Response):
        return form
    service = newsletter()
    moment = now(service.settings)
    try:
        signup = Signup(email=form.get("email", ""), website=form.get("website", ""))
    except ValidationError:
        return page(
            400,
            Notice(
                "Please check the address",
                (BAD_ADDRESS,),
            ),
        )
    limited = service.flow.rate_limited(_client_ip(), moment)
    if limited is not None:
        return page(
            429,
            Notice(
                "Please wait a moment",
                (TOO_MANY,),
            ),
            {"Retry-After": str(limited.retry_after)},
        )
    outcome = service.flow.subscribe(signup, moment)
    if outcome is Outcome.ROBOT:
        return page(
            400,
            Notice(
                "We could not accept this form",
                (TRAP_FILLED,),
            ),
        )
    return page(
        200,
        Notice(
            "Almost there: check your inbox",
            (
                "If the address can receive mail, a message with a confirmation link is on its way.",
                "Open the link within two days to start receiving new articles; nothing is sent until then.",
            ),
        ),
    )


def _token(form: dict[str, str] | None = None) -> str:
    query = app.current_event.query_string_parameters or {}
    return (form or {}).get("token") or query.get("token") or ""


def _bad_link(error: BadToken) -> Response[str]:
    return page(
        400,
        Notice(
            "This link does not work",
            (f"Sorry: {error}.", "You can subscribe again with the form below; it takes a minute."),
        ),
    )


@app.get(f"{API_PATH}/confirm")
def confirm_page() -> Response[str]:
    """A confirmation link opened: check it and show the button that confirms."""
    token = _token()
    service = newsletter()
    try:
        service.keys.verify(token, "confirm", now(service.settings))
    except BadToken as error:
        return _bad_link(error)
    return page(
        200,
        Notice(
            "Confirm your subscription",
            ("One more step: press the button to start receiving new articles by email.",),
            Action(f"{API_PATH}/confirm", token, "Confirm my subscription"),
        ),
    )


@app.post(f"{API_PATH}/confirm")
def confirm() -> Response[str]:
    """Confirm the subscription the token stands for."""
    form = _form()
    if isinstance(form, Response):
        return form
    service = newsletter()
    try:
        confirmed = service.flow.confirm(_token(form), now(service.settings))
    except BadToken as error:
        return _bad_link(error)
    if not confirmed:
        return page(
            410,
            Notice(
                "This signup has lapsed",
                (LAPSED,),
            ),
        )
    return page(
        200,
        Notice(
            "You are subscribed",
            ("New articles will arrive in your inbox. Every email has a link to unsubscribe in one click.",),
        ),
    )


@app.get(f"{API_PATH}/unsubscribe")
def unsubscribe_page() -> Response[str]:
    """An unsubscribe link opened: check it and show the button that unsubscribes."""
    token = _token()
    service = newsletter()
    try:
        service.keys.verify(token, "unsubscribe", now(service.settings))
    except BadToken as error:
        return _bad_link(error)
    return page(
        200,
        Notice(
            "Unsubscribe",
            ("Press the button and we stop sending you new articles at once.",),
            Action(f"{API_PATH}/unsubscribe", token, "Unsubscribe"),
        ),
    )


@app.post(f"{API_PATH}/unsubscribe")
def unsubscribe() -> Response[str]:
    """Unsubscribe at once: the page's button, or a mail client's one-click POST to the link."""
    form = _form()
    if isinstance(form, Response):
        return form
    service = newsletter()
    try:
        service.flow.unsubscribe(_token(form), now(service.settings))
    except BadToken as error:
        return _bad_link(error)
    return page(
        200,
        Notice(
            "You are unsubscribed",
            (UNSUBSCRIBED,),
        ),
    )


@app.not_found
def not_found(_: Any) -> Response[str]:
    """Anything else under /api/."""
    return page(404, Notice("Page not found", ("There is nothing at this address.",)))

"""Reading a posted form: URL-encoded (the site's forms) or multipart (some mail clients).

RFC 8058's one-click unsubscribe lets a mail client post `List-Unsubscribe=One-Click` either
way, and recommends `multipart/form-data`. Multipart bodies are parsed by the standard library's
MIME parser, only after the size check, and only their plain fields are read (no files, no
nesting). Anything else is refused with the status the API answers.
"""

from __future__ import annotations

import base64
import binascii
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from urllib.parse import parse_qs

# A form with one address is a few hundred bytes, a multipart one a little more; anything much
# larger is not our form.
MAX_BODY = 2048
# No form of ours has more than a handful of fields.
MAX_FIELDS = 20
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


class FormRefused(Exception):
    """A body that is not one of our forms, and the HTTP status that says why."""

    def __init__(self, status: int) -> None:
        super().__init__(f"form refused with {status}")
        self.status = status


def request_body(body: str | None, is_base64: bool) -> bytes:
    """The bytes an HTTP API event carries (base64 for binary bodies); `FormRefused` if garbled."""
    raw = body or ""
    try:
        return base64.b64decode(raw, validate=True) if is_base64 else raw.encode("utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError) as error:
        raise FormRefused(400) from error


def read_form(data: bytes, content_type: str) -> dict[str, str]:
    """The form's fields (the first value of each); `FormRefused` with 413, 415 or 400."""
    if len(data) > MAX_BODY:
        raise FormRefused(413)
    if not data:
        return {}
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type == URLENCODED:
        return _urlencoded(data)
    if media_type == MULTIPART:
        return _multipart(data, content_type)
    raise FormRefused(415)


def _urlencoded(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise FormRefused(400) from error
    return {name: values[0] for name, values in fields.items()}


def _multipart(data: bytes, content_type: str) -> dict[str, str]:
    # The header goes in as one line of bytes: a value with line breaks would start new headers.
    header = content_type.replace("\r", " ").replace("\n", " ").encode("utf-8", errors="replace")
    try:
        message = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + header + b"\r\n\r\n" + data)
        fields = _fields(message)
    except (ValueError, LookupError, TypeError, AttributeError, AssertionError) as error:
        # The MIME parser's complaints about malformed input (a bad boundary or charset).
        raise FormRefused(400) from error
    return fields


def _fields(message: Message) -> dict[str, str]:
    if not message.is_multipart() or message.get_content_type() != MULTIPART:
        raise FormRefused(400)
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts or len(parts) > MAX_FIELDS:
        raise FormRefused(400)
    fields: dict[str, str] = {}
    for part in parts:
        if not isinstance(part, EmailMessage) or part.is_multipart():
            raise FormRefused(400)
        if part.get_content_disposition() != "form-data" or part.get_filename() is not None:
            continue
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise FormRefused(400)
        try:
            value = payload.decode(part.get_content_charset("utf-8"))
        except (UnicodeDecodeError, LookupError) as error:
            raise FormRefused(400) from error
        fields.setdefault(name, value)
    return fields

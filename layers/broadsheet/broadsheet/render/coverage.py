"""An article's dated additions: corrections and live-coverage updates, as the article page, its
feed entries and its structured data show them.

Anchors are numbered by the file's order, which the contract holds to oldest first for updates:
an update keeps its `#update-<n>` for good once published, because new updates are appended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

from broadsheet.contract.fields import slugify
from broadsheet.contract.models import Article
from broadsheet.pages import Listing
from broadsheet.render.body import render_body
from broadsheet.render.templating import display_time


def stamp(value: datetime) -> dict[str, str]:
    """A moment as templates show it: machine-readable and for readers."""
    return {"iso": value.isoformat(), "display": display_time(value)}


def correction_views(article: Article) -> list[dict[str, Any]]:
    """The article's corrections in order of time, each with its anchor."""
    numbered = sorted(enumerate(article.corrections, start=1), key=lambda pair: (pair[1].at, pair[0]))
    return [{"id": f"correction-{n}", "at": stamp(c.at), "text": c.text} for n, c in numbered]


def update_views(article: Article) -> list[dict[str, Any]]:
    """The article's live updates, newest first, each with its stable anchor."""
    return [
        {
            "id": f"update-{n}",
            "at": stamp(update.at),
            "authors": [
                {"name": name, "url": Listing("author", slugify(name)).base_path} for name in update.authors
            ],
            "html": render_body(update.text),
        }
        for n, update in reversed(list(enumerate(article.updates, start=1)))
    ]


def plain_text(markdown: str) -> str:
    """The text of rendered Markdown without its markup, as structured data carries it."""
    return render_body(markdown).striptags()


def feed_additions(article: Article, article_url: str) -> Markup:
    """HTML appended to the body in the article's feed entries: updates, newest first, then
    corrections, each linking to its anchor on the article page."""
    parts: list[Markup] = []
    for update in update_views(article):
        parts.append(
            Markup(
                '<section><p><a href="{1}#{0}"><time datetime="{2}">{3}</time></a></p>\n{4}</section>\n'
            ).format(update["id"], article_url, update["at"]["iso"], update["at"]["display"], update["html"])
        )
    for correction in correction_views(article):
        parts.append(
            Markup('<p><strong>Correction, <time datetime="{0}">{1}</time>:</strong> {2}</p>\n').format(
                correction["at"]["iso"], correction["at"]["display"], correction["text"]
            )
        )
    return Markup("").join(parts)

"""Page ids, their public URLs (DESIGN.md's table) and listing pagination from the oldest end."""

from __future__ import annotations

import pytest

from broadsheet.pages import (
    ArticlePage,
    BadPageId,
    Listing,
    ListingPage,
    StaticPage,
    object_key,
    older_page_of_front,
    page_count,
    page_of,
    parse_page,
)

VALID_IDS = [
    "article:review-of-the-week-kerry-putin",
    "article:g20",
    "home:0",
    "home:1",
    "home:12",
    "author:gevorg-mirzayan:0",
    "author:gevorg-mirzayan:3",
    "section:foreign-policy:0",
    "section:foreign-policy:2",
    "tag:united-states:0",
    "tag:united-states:5",
    "month:2015-12:0",
    "month:2015-12:4",
    "404",
    "asset:site.css",
]

URLS = [
    ("article:review-of-the-week-kerry-putin", "/articles/review-of-the-week-kerry-putin/"),
    ("home:0", "/"),
    ("home:4", "/page/4/"),
    ("author:gevorg-mirzayan:0", "/authors/gevorg-mirzayan/"),
    ("author:gevorg-mirzayan:2", "/authors/gevorg-mirzayan/page/2/"),
    ("section:foreign-policy:0", "/sections/foreign-policy/"),
    ("section:foreign-policy:3", "/sections/foreign-policy/page/3/"),
    ("tag:united-states:0", "/tags/united-states/"),
    ("tag:united-states:1", "/tags/united-states/page/1/"),
    ("month:2015-12:0", "/archive/2015/12/"),
    ("month:2015-12:2", "/archive/2015/12/page/2/"),
]

# Shapes of id a render message must never be trusted with.
MALFORMED_IDS = [
    "",
    "article:",
    "article:Not-A-Slug",
    "article:a--b",
    "article:../etc/passwd",
    "home",
    "home:",
    "home:-1",
    "home:1.5",
    "home:1234567",
    "home:x:1",
    "author::0",
    "author:gevorg-mirzayan",
    "author:Gevorg Mirzayan:0",
    "section:foreign_policy:0",
    "tag:united states:0",
    "month:2015-1:0",
    "month:2015/12:0",
    "month:15-12:0",
    "page:1",
    "asset:../site.css",
    "404:0",
]


def listing_page_path(page_id: str) -> str:
    page = parse_page(page_id)
    assert isinstance(page, (ListingPage, ArticlePage))
    return page.path


@pytest.mark.parametrize("page_id", VALID_IDS)
def test_page_ids_round_trip_through_parse_page(page_id: str) -> None:
    assert parse_page(page_id).id == page_id


@pytest.mark.parametrize(("page_id", "url"), URLS)
def test_page_urls_match_the_public_url_table(page_id: str, url: str) -> None:
    assert listing_page_path(page_id) == url


def test_a_page_is_served_from_index_html_under_its_path() -> None:
    assert object_key("/") == "index.html"
    assert object_key("/authors/gevorg-mirzayan/page/2/") == "authors/gevorg-mirzayan/page/2/index.html"
    assert object_key("/archive/2015/12/") == "archive/2015/12/index.html"


def test_static_pages_parse_to_themselves() -> None:
    assert parse_page("404") == StaticPage("404")
    assert parse_page("asset:site.css") == StaticPage("asset:site.css")


def test_listing_ids_are_what_the_index_stores() -> None:
    assert Listing("home").id == "home"
    assert Listing("author", "zoe-marchetti").id == "author:zoe-marchetti"
    assert Listing.parse("month:2016-07") == Listing("month", "2016-07")
    assert Listing("tag", "nato").page(2).id == "tag:nato:2"


@pytest.mark.parametrize("page_id", MALFORMED_IDS)
def test_malformed_page_ids_raise_bad_page_id(page_id: str) -> None:
    with pytest.raises(BadPageId):
        parse_page(page_id)


def test_traversal_payloads_never_become_a_page_path(traversal_lines: list[str]) -> None:
    shapes = ["{}", "article:{}", "home:{}", "author:{}:0", "section:{}:1", "tag:{}:0", "month:{}:0", "{}:0"]
    accepted: list[str] = []
    for line in traversal_lines:
        for shape in shapes:
            page_id = shape.format(line)
            try:
                page = parse_page(page_id)
            except BadPageId:
                continue
            path = page.path if isinstance(page, (ArticlePage, ListingPage)) else page.id
            assert ".." not in path and "\\" not in path, (page_id, path)
            accepted.append(page_id)
    # The payloads are traversal strings: none of them is a slug, a month or a page number.
    assert accepted == []


@pytest.mark.parametrize("page_id", ["home:²", "author:gevorg-mirzayan:³", "tag:nato:①"])
def test_page_number_in_unicode_digits_raises_bad_page_id(page_id: str) -> None:
    with pytest.raises(BadPageId):
        parse_page(page_id)


@pytest.mark.parametrize("page_id", ["article:abc\n", "author:abc\n:0", "tag:nato\n:1"])
def test_slug_with_a_trailing_newline_raises_bad_page_id(page_id: str) -> None:
    with pytest.raises(BadPageId):
        parse_page(page_id)


@pytest.mark.parametrize("page_id", ["month:2015-13:0", "month:2015-00:0", "month:２０１５-１２:0"])
def test_month_that_is_no_calendar_month_raises_bad_page_id(page_id: str) -> None:
    with pytest.raises(BadPageId):
        parse_page(page_id)


@pytest.mark.parametrize("page_id", ["home:007", "home:١", "tag:nato:01"])
def test_every_accepted_page_id_is_canonical(page_id: str) -> None:
    try:
        page = parse_page(page_id)
    except BadPageId:
        return
    assert page.id == page_id


@pytest.mark.parametrize(
    ("index", "size", "page"),
    [(0, 3, 1), (2, 3, 1), (3, 3, 2), (5, 3, 2), (6, 3, 3), (0, 1, 1), (9, 1, 10), (99, 10, 10)],
)
def test_page_of_counts_from_the_oldest_entry(index: int, size: int, page: int) -> None:
    assert page_of(index, size) == page


@pytest.mark.parametrize(
    ("total", "size", "count"), [(0, 3, 0), (1, 3, 1), (3, 3, 1), (4, 3, 2), (6, 3, 2), (7, 3, 3), (5, 1, 5)]
)
def test_page_count_includes_a_partial_last_page(total: int, size: int, count: int) -> None:
    assert page_count(total, size) == count


@pytest.mark.parametrize(
    ("total", "size", "older"),
    [(0, 3, None), (3, 3, None), (4, 3, 1), (6, 3, 1), (7, 3, 2), (9, 3, 2), (10, 3, 3), (2, 1, 1)],
)
def test_front_page_links_to_the_page_holding_the_newest_entry_it_does_not_show(
    total: int, size: int, older: int | None
) -> None:
    assert older_page_of_front(total, size) == older


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_front_page_and_numbered_pages_together_show_every_entry(size: int) -> None:
    for total in range(30):
        front = set(range(max(0, total - size), total))
        numbered = {i for i in range(total) if 1 <= page_of(i, size) <= page_count(total, size)}
        assert numbered == set(range(total))
        older = older_page_of_front(total, size)
        if older is None:
            assert front == set(range(total))
        else:
            # The "Next page" link leads to a page holding the newest entry the front does not show.
            shown = {i for i in range(total) if page_of(i, size) == older}
            assert total - size - 1 in shown


def test_appending_an_entry_never_moves_an_existing_numbered_page() -> None:
    size = 3
    for total in range(40):
        before = {i: page_of(i, size) for i in range(total)}
        after = {i: page_of(i, size) for i in range(total + 1)}
        assert all(after[i] == before[i] for i in before)

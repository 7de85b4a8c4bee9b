"""Retired renditions: the site bucket's lifecycle rule deletes exactly the renditions tagged
superseded, and not before every page or feed that named them has left the caches."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from broadsheet.contract.media import MEDIA, SUPERSEDED_GRACE_DAYS, SUPERSEDED_TAG
from broadsheet.render.templating import FEED_CACHE, HTML_CACHE, NOT_FOUND_CACHE
from broadsheet_dev.local.template import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def lifetime(cache_control: str) -> int:
    """The longest a cache may serve a response under `cache_control`, in seconds."""
    values = {k: int(v) for k, v in re.findall(r"([a-z-]+)=(\d+)", cache_control)}
    shared = values.get("s-maxage", values.get("max-age", 0)) + values.get("stale-while-revalidate", 0)
    return max(values.get("max-age", 0), shared)


def site_rules() -> list[dict[str, Any]]:
    bucket = load_template(TEMPLATE)["Resources"]["SiteBucket"]["Properties"]
    rules: list[dict[str, Any]] = bucket["LifecycleConfiguration"]["Rules"]
    return rules


def test_the_site_bucket_expires_only_superseded_renditions_after_the_grace() -> None:
    [rule] = site_rules()
    assert rule["Status"] == "Enabled" and rule["Prefix"] == MEDIA
    assert rule["TagFilters"] == [{"Key": SUPERSEDED_TAG, "Value": "true"}]
    assert rule["ExpirationInDays"] == SUPERSEDED_GRACE_DAYS
    assert set(rule) == {"Id", "Status", "Prefix", "TagFilters", "ExpirationInDays"}


def test_the_grace_outlasts_every_cached_page_and_feed_by_far() -> None:
    longest = max(lifetime(c) for c in (HTML_CACHE, FEED_CACHE, NOT_FOUND_CACHE))
    assert 0 < longest * 100 < SUPERSEDED_GRACE_DAYS * 86_400

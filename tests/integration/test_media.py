"""Images through the pipeline on the local stack: an upload becomes renditions and pictures on
every page that shows it, a replaced or deleted image re-renders those pages, a bad file gets a
report, and the site stays byte-identical to the offline build of the same content."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from broadsheet.adapters import clients
from broadsheet.adapters.sqs import SqsHints
from broadsheet.contract.media import RENDITION_CACHE
from broadsheet.media.notices import warnings_key
from broadsheet.media.renditions import media_hash, process
from broadsheet.runtime.reconcile import run_reconcile, services
from broadsheet_dev.local.runtime import LocalStack
from tests.support import Editor, assert_site_matches_offline_build, indexed, sample_images

pytestmark = [pytest.mark.integration]

STORY = "articles/picture-story.json"
LEAD = "media/picture-story-lead.jpg"
INLINE = "media/picture-story-map.png"
PORTRAIT = "media/gevorg.jpg"
AUTHOR_PAGE = "authors/gevorg-mirzayan/index.html"
PROFILE = "authors/gevorg-mirzayan.json"


def photo(colour: tuple[int, int, int], size: tuple[int, int] = (1400, 900)) -> bytes:
    """A JPEG with a camera's EXIF, GPS included."""
    image = Image.new("RGB", size, colour)
    image.paste(Image.linear_gradient("L").resize((size[0] // 2, size[1])).convert("RGB"))
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x8825] = {1: "N", 2: (55.0, 45.0, 7.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def chart() -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").resize((800, 500)).save(out, "PNG")
    return out.getvalue()


def story() -> dict[str, object]:
    return {
        "title": "A story with pictures",
        "teaser": "The lead image leads; a chart sits in the body.",
        "authors": ["Gevorg Mirzayan"],
        "published_at": "2016-12-01T10:00:00+03:00",
        "image": {"src": LEAD, "alt": "A red square", "caption": "Red.", "credit": "Broadsheet tests"},
        "body": "First paragraph.\n\n![A grey chart](media/picture-story-map.png)\n\nLast paragraph.\n",
    }


def warnings_of(editor: Editor, key: str) -> dict[str, object] | None:
    try:
        body = editor.s3.get_object(Bucket=editor.content, Key=warnings_key(key))["Body"].read()
    except editor.s3.exceptions.NoSuchKey:
        return None
    loaded: dict[str, object] = json.loads(body)
    return loaded


def reconcile(stack: LocalStack) -> None:
    """What the daily reconcile does: here, remove renditions no published image names."""
    media = SqsHints(clients.sqs(), stack.stack.queue_url("MediaQueue"), stack.stack.content_bucket)
    run_reconcile(replace(services(), media_hints=media), every_page=True)
    stack.wait_drained()


def renditions_of(data: bytes, name: str) -> frozenset[str]:
    return frozenset(process(f"media/{name}", name, data).item.rendition_keys())


def retired_so_far(editor: Editor, name: str) -> frozenset[str]:
    """The renditions already superseded, and those `name` has now (an earlier test's upload,
    which this test's upload retires)."""
    live = indexed().get_media([name]).get(name)
    return frozenset(editor.superseded_in_site() | set(live.rendition_keys() if live else ()))


def publish_then_replace_lead(stack: LocalStack, editor: Editor, first: bytes, second: bytes) -> None:
    """Publish the picture story with `first` as its lead image, then replace the image with `second`."""
    editor.put_json(STORY, story())
    editor.put(LEAD, first)
    stack.wait_drained()
    editor.put(LEAD, second)
    stack.wait_drained()


def test_an_article_before_its_images_gains_them_when_they_arrive(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    retired = editor.superseded_in_site()  # by earlier tests on this stack, still in their grace
    editor.put_json(STORY, story())
    stack.wait_drained()
    before = editor.site_files()["articles/picture-story/index.html"]
    assert b"<picture" not in before and b"media/picture-story" not in before
    warned = warnings_of(editor, STORY)
    assert warned is not None and "picture-story-lead.jpg" in json.dumps(warned)

    lead = photo((200, 30, 30))
    editor.put(LEAD, lead)
    editor.put(INLINE, chart())
    editor.publish_media()
    stack.wait_drained()

    files = editor.site_files()
    page = files["articles/picture-story/index.html"].decode()
    digest = media_hash(lead)
    assert f"/media/{digest}/1280.avif 1280w" in page
    assert 'fetchpriority="high"' in page and 'class="body-figure"' in page
    assert re.search(f'<meta property="og:image" content="http[^"]+/media/{digest}/1280.jpg">', page)
    assert f"media/{digest}/320.jpg" in files["authors/gevorg-mirzayan/index.html"].decode()
    assert warnings_of(editor, STORY) is None
    head = editor.s3.head_object(Bucket=editor.site, Key=f"media/{digest}/1280.avif")
    assert (head["CacheControl"], head["ContentType"]) == (RENDITION_CACHE, "image/avif")
    rendition = Image.open(io.BytesIO(files[f"media/{digest}/640.jpg"]))
    assert not rendition.getexif()  # no camera, no GPS
    for sample in sample_images():
        assert editor.report(f"media/{sample.name}") is None
    assert_site_matches_offline_build(editor, tmp_path, retired)


def test_replacing_or_deleting_an_image_renders_its_pages_again(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    before = retired_so_far(editor, "picture-story-lead.jpg")
    first, second = photo((30, 30, 200)), photo((30, 160, 30))
    publish_then_replace_lead(stack, editor, first, second)
    page = editor.site_files()["articles/picture-story/index.html"].decode()
    assert f"media/{media_hash(second)}/" in page and f"media/{media_hash(first)}/" not in page
    # The first version's renditions stay for pages cached before the change, tagged superseded.
    retired = before | renditions_of(first, "picture-story-lead.jpg")
    assert_site_matches_offline_build(editor, tmp_path / "replaced", retired)
    reconcile(stack)
    assert_site_matches_offline_build(editor, tmp_path / "reconciled", retired)

    editor.delete(LEAD)
    stack.wait_drained()
    page = editor.site_files()["articles/picture-story/index.html"].decode()
    assert "lead-figure" not in page and "og:image" not in page
    assert "picture-story-lead.jpg" in json.dumps(warnings_of(editor, STORY))
    retired |= renditions_of(second, "picture-story-lead.jpg")
    assert_site_matches_offline_build(editor, tmp_path / "deleted", retired)

    # The first version again: its renditions are named once more, and no longer superseded.
    editor.put(LEAD, first)
    stack.wait_drained()
    assert_site_matches_offline_build(
        editor, tmp_path / "restored", retired - renditions_of(first, "picture-story-lead.jpg")
    )


def test_reconcile_tags_the_renditions_the_media_function_left_untagged(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    before = retired_so_far(editor, "picture-story-lead.jpg")
    first, second = photo((90, 10, 90)), photo((10, 90, 90))
    publish_then_replace_lead(stack, editor, first, second)
    retired = before | renditions_of(first, "picture-story-lead.jpg")
    # As if the function had failed after the index write, before tagging.
    lost = sorted(renditions_of(first, "picture-story-lead.jpg"))[:2]
    for key in lost:
        editor.s3.delete_object_tagging(Bucket=editor.site, Key=key)
    assert editor.superseded_in_site() == retired - set(lost)
    media = SqsHints(clients.sqs(), stack.stack.queue_url("MediaQueue"), stack.stack.content_bucket)
    report = run_reconcile(replace(services(), media_hints=media), every_page=True)
    stack.wait_drained()
    assert report.retired == lost and report.deleted == []
    assert_site_matches_offline_build(editor, tmp_path, retired)
    again = run_reconcile(replace(services(), media_hints=media), every_page=True)
    assert again.retired == [] and again.drift()["renditions_retired"] == 0


def test_an_author_portrait_shows_on_their_page_and_follows_its_image(
    stack: LocalStack, editor: Editor, tmp_path: Path
) -> None:
    before = editor.superseded_in_site()
    editor.put_json(STORY, story())
    portrait = {"src": PORTRAIT, "alt": "Gevorg, smiling"}
    editor.put_json(PROFILE, {"name": "Gevorg Mirzayan", "bio": "Writes.", "portrait": portrait})
    stack.wait_drained()
    assert b'class="portrait"' not in editor.site_files()[AUTHOR_PAGE]

    face, other = photo((200, 150, 120), (900, 1200)), photo((120, 150, 200), (900, 1200))
    editor.put(PORTRAIT, face)
    stack.wait_drained()
    page = editor.site_files()[AUTHOR_PAGE].decode()
    assert '<picture class="portrait">' in page and f"/media/{media_hash(face)}/900.jpg" in page
    assert 'alt="Gevorg, smiling"' in page and 'width="900" height="1200"' in page
    assert '"ProfilePage"' in page and f"/media/{media_hash(face)}/900.jpg" in page
    assert_site_matches_offline_build(editor, tmp_path / "arrived", before)

    editor.put(PORTRAIT, other)
    stack.wait_drained()
    page = editor.site_files()[AUTHOR_PAGE].decode()
    assert f"/media/{media_hash(other)}/" in page and f"/media/{media_hash(face)}/" not in page
    retired = before | renditions_of(face, "gevorg.jpg")
    assert_site_matches_offline_build(editor, tmp_path / "changed", retired)

    editor.delete(PORTRAIT)
    stack.wait_drained()
    page = editor.site_files()[AUTHOR_PAGE].decode()
    assert 'class="portrait"' not in page and f"/media/{media_hash(other)}/" not in page
    retired |= renditions_of(other, "gevorg.jpg")
    assert_site_matches_offline_build(editor, tmp_path / "deleted", retired)
    editor.delete(PROFILE)
    stack.wait_drained()


def test_a_bad_image_is_reported_and_the_last_good_one_stays(stack: LocalStack, editor: Editor) -> None:
    editor.put_json(STORY, story())
    good = photo((120, 120, 0))
    editor.put(LEAD, good)
    stack.wait_drained()
    editor.put(LEAD, good[: len(good) // 3])
    editor.put(
        "media/drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    )
    stack.wait_drained()
    report = editor.report(LEAD)
    assert report is not None and "damaged or incomplete" in json.dumps(report)
    svg = editor.report("media/drawing.svg")
    assert svg is not None and "SVG" in json.dumps(svg)
    assert f"media/{media_hash(good)}/" in editor.site_files()["articles/picture-story/index.html"].decode()
    # The same good file again: published again, its report gone.
    editor.put(LEAD, good)
    stack.wait_drained()
    assert editor.report(LEAD) is None
    editor.s3.delete_object(Bucket=editor.content, Key="media/drawing.svg")

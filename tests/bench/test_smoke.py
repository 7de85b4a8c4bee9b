"""The benchmarks at a tiny size, so they cannot rot: `python -m bench` runs them at full size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import corpus, cost, fitness, publish, tools
from bench.__main__ import bulk_table, cost_table, fitness_table, full_table, publish_table
from bench.full import compare, sources
from bench.measure import run, tree_memory
from broadsheet.contract.files import read_article
from tests.support import indexed

SIZE = 24


def test_the_corpus_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    assert corpus.articles(SIZE, seed=7) == corpus.articles(SIZE, seed=7)
    assert corpus.articles(SIZE, seed=7) != corpus.articles(SIZE, seed=8)


def test_corpus_articles_have_the_shape_of_news(tmp_path: Path) -> None:
    made = corpus.articles(SIZE)
    assert all(800 <= len(a.body.split()) <= 1400 for a in made)
    # Sub-headings come at random between paragraphs: nine articles in ten have some.
    assert sum("\n## " in a.body for a in made) >= 0.8 * SIZE
    assert all(1 <= len(a.authors) <= 3 and 2 <= len(a.tags) <= 4 for a in made)
    assert len({a.published.year for a in corpus.articles(400)}) == 10
    folder = corpus.write_broadsheet(made, tmp_path) / "articles"
    for path in sorted(folder.glob("*.json")):
        read_article(f"articles/{path.name}", path.read_bytes())  # raises if the contract is broken


def test_hugo_and_pelican_sources_hold_every_article(tmp_path: Path) -> None:
    made = sources(SIZE, 1, tmp_path, ("hugo", "pelican"))
    assert len(list((made["hugo"] / "content" / "articles").glob("*.md"))) == SIZE
    assert len(list((made["pelican"] / "content").glob("*.md"))) == SIZE
    assert "pagerSize = 20" in (made["hugo"] / "hugo.toml").read_text()
    assert "DEFAULT_PAGINATION = 20" in (made["pelican"] / "pelicanconf.py").read_text()
    front = (made["hugo"] / "content" / "articles").glob("*.md").__next__().read_text().split("\n\n", 1)[0]
    assert set(json.loads(front)) >= {"title", "slug", "date", "authors", "tags", "sections", "months"}


def test_measuring_a_command_sees_its_whole_process_tree(tmp_path: Path) -> None:
    measured = run(["sh", "-c", "sleep 0.3 & sleep 0.3; wait"], cwd=tmp_path)
    assert measured.wall >= 0.3
    assert measured.peak_rss > 0
    assert tree_memory(2**22 + 1) == (0, 0)  # a process that does not exist


def test_full_build_benchmark_runs_and_a_rebuild_writes_nothing(tmp_path: Path) -> None:
    others = tools.installed()
    comparison = compare(SIZE, 1, tmp_path, others)
    built = comparison.builds["broadsheet"]
    assert built.files > SIZE
    assert comparison.rebuild_written == 0
    if others:
        assert comparison.builds["hugo"].html > SIZE
        assert comparison.builds["pelican"].html > SIZE
    assert "broadsheet, unchanged rebuild" in full_table([comparison])


@pytest.mark.isolated
def test_publish_benchmark_counts_pages_and_requests(tmp_path: Path) -> None:
    content = sources(SIZE, 1, tmp_path, ("broadsheet",))["broadsheet"]
    with publish.seeded_site(SIZE, 1, content) as site:
        # The seeded index is what ingest would have written: every listing counter agrees.
        assert indexed().recount() == []
        first, changed, corrected, started, updated, pinned, unpinned, deleted = publish.editor_actions(
            site, 1
        )
        bulk = publish.bulk(site, 1, 3, tmp_path)
        # A bulk upload that outlasts its deadline is reported with what was still queued.
        stopped = publish.bulk(site, 2, 2, tmp_path, deadline=0.0)
        site.stack.wait_drained()
        assert indexed().recount() == []
    assert first.written > 0
    assert first.rendered >= first.written
    assert first.requests["dynamodb:TransactWriteItems"] >= 1
    assert changed.written > 0
    # A correction or a live update leaves every listing as it was; a pin changes only two fronts.
    assert corrected.home_renders == updated.home_renders == 0 and started.home_renders == 1
    assert sorted([pinned.rendered, unpinned.rendered]) == [2, 2]
    assert deleted.deleted > 0
    assert bulk.home_renders >= 1
    assert bulk.live == 3 and not bulk.unfinished
    # Drained, the site is the offline build of the seeded corpus and the new articles.
    assert bulk.differ_from_build == []
    assert stopped.differ_from_build is None
    assert stopped.unfinished  # the queues still holding its messages, by logical id
    assert "not drained by the deadline" in publish_table([stopped], {})
    assert bulk.most_renders >= bulk.median_renders >= 1 and bulk.drained > 0
    assert "not drained" in bulk_table([stopped]) and "home renders" in bulk_table([bulk])
    assert "publish one article" in publish_table([first, changed, deleted, bulk], {})
    assert "total" in cost_table(first)
    assert sum(line.per_publish for line in cost.lines(first)) > 0


def test_fitness_sizes_each_function_by_the_layers_the_template_gives_it() -> None:
    carried = {
        name: [layer.name for layer in layers] for name, layers in fitness.layers_by_function().items()
    }
    functions = {"ingest", "plan", "render", "reconcile", "subscribe", "digest", "suppress", "media"}
    assert set(carried) == functions
    assert all(layers[0] == "BroadsheetLayer" for layers in carried.values())
    assert "AwsCrtLayer" in carried["render"]
    assert "CryptographyLayer" in carried["subscribe"]
    measured = fitness.Fitness(
        python="python3.13",
        imports={"render": 0.25},
        compiled={"render": 0},
        boto3=0.2,
        layers={"BroadsheetLayer": 14_000_000, "AwsCrtLayer": 26_600_000},
        carried={"render": ["BroadsheetLayer", "AwsCrtLayer"]},
        largest=[("_awscrt.abi3.so (AwsCrtLayer)", 11_100_000)],
        runtime_in_layers=[],
    )
    assert measured.function_bytes() == {"render": 40_600_000}
    assert measured.ratios() == {"render": 1.25}
    printed = fitness_table(measured, None)
    rows = [" ".join(line.split()) for line in printed.splitlines()]
    assert any("1.25× boto3: 250 ms" in row and "≤ 1.3× boto3: met" in row for row in rows)
    assert "layer BroadsheetLayer unzipped (arm64) 14.0 MB ≤ 25 MB: met" in rows
    assert "layer AwsCrtLayer unzipped (arm64) 26.6 MB ≤ 25 MB: not met" in rows
    assert "40.6 MB" in printed

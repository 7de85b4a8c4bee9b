"""The goals table: each ratio of a run's figures against its goal, and how far off an unmet one is."""

from __future__ import annotations

from typing import Any

from bench.goals import goals, rows


def run(wall: float, rss: int) -> dict[str, Any]:
    return {"wall": wall, "cpu": wall, "peak_rss": rss, "peak_pss": rss, "status": 0}


def bulk(count: int, home: int, *, drained: bool = True, differ: list[str] | None = None) -> dict[str, Any]:
    return {
        "action": f"{count:,} articles at once",
        "articles": 1000,
        "unfinished": {} if drained else {"RenderQueue": 5},
        "drained": 300.0,
        "differ_from_build": [] if differ is None else differ,
        "home_renders": home,
    }


RESULTS: dict[str, Any] = {
    "full": [
        {
            "articles": 10_000,
            "builds": {
                "broadsheet": {"run": run(13.0, 300_000_000)},
                "hugo": {"run": run(12.5, 1_500_000_000)},
            },
            "rebuild": run(0.6, 60_000_000),
        }
    ],
    "fitness": {
        "boto3": 0.1,
        "imports": {"plan": 0.12, "render": 0.3},
        "layers": {"A": 21_000_000, "B": 26_000_000},
    },
    "publish": [
        {"articles": 1000, "action": "publish one article", "seconds": 0.7},
        {"articles": 10_000, "action": "publish one article", "seconds": 0.77},
    ],
    "bulk": [
        bulk(100, 2),
        bulk(10_000, 51),
        bulk(1000, 3, differ=["index.html"]),
        bulk(10_000, 9, drained=False),
    ],
}


def test_each_goal_is_held_to_its_target_and_an_unmet_one_says_by_how_much() -> None:
    table = {row[0]: row[1:] for row in rows(goals(RESULTS))}
    assert table["full build, 10,000 articles: wall against Hugo's"][2] == "not met, 2.1× over"
    assert table["full build, 10,000 articles: peak RSS against Hugo's"][2] == "met"
    assert table["unchanged second build, 10,000 articles: wall against the first"][2] == "met"
    slowest = table["handler import against a bare import boto3 (the slowest handler)"]
    assert slowest[0].startswith("3.00× (render") and slowest[2] == "not met, 2.3× over"
    assert table["largest layer unzipped"] == ["26.0 MB (B)", "≤ 25 MB", "not met, 1.0 MB over"]
    assert table["time to live (local stack), 10,000 articles against 1,000"][2] == "met"
    assert table["bulk upload of 100 into 1,000: home page renders"][2] == "met"
    assert table["bulk upload of 1,000 into 1,000: drains, and the site is the offline build"][2] == "not met"
    found = [
        row for row in rows(goals(RESULTS)) if row[0] == "bulk upload of 10,000 into 1,000: home page renders"
    ]
    # Too many renders, or not drained at all, is not met.
    assert [row[3] for row in found] == ["not met, 1 over", "not met"]


def test_a_goal_whose_benchmark_did_not_run_is_left_out() -> None:
    assert goals({"date": "", "machine": ""}) == []
    assert {g.name for g in goals({"fitness": RESULTS["fitness"]})} == {
        "handler import against a bare import boto3 (the slowest handler)",
        "largest layer unzipped",
    }

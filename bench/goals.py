"""Every goal the benchmarks are held to, each ratio against its goal, from one run's figures.

`python -m bench` prints this table last; `python -m bench.goals bench/.work/results-<time>.json`
prints it again from a run's saved figures. A goal whose benchmark did not run is left out; an
unmet one says by how much.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import fitness, rebuild_model
from bench.measure import table

# Full build at the largest size, against Hugo's: wall time and peak RSS; an unchanged second build
# against the first.
FULL_WALL = 0.5
FULL_RSS = 0.25
UNCHANGED = 0.1
# One publish's time to live on the local stack at the largest size, against at the smallest.
TIME_TO_LIVE = 1.2
# Bulk uploads: the home page's renders at most, by articles uploaded.
HOME_RENDERS = {100: 2, 10_000: 50}


@dataclass(frozen=True)
class Goal:
    """One goal: what is measured, the figure, the goal, and whether it is met."""

    name: str
    figure: str
    goal: str
    met: bool
    # How far off an unmet goal is ("2.1× over"), or empty.
    off: str = ""


def ratio_goal(name: str, measured: float, goal: float, figure: str) -> Goal:
    """A ratio held to at most `goal`."""
    met = measured <= goal
    return Goal(
        name, f"{measured:.2f}× ({figure})", f"≤ {goal}×", met, "" if met else f"{measured / goal:.1f}× over"
    )


def goals(results: dict[str, Any]) -> list[Goal]:
    """The goals the figures of one run (as `python -m bench` saves them) speak to."""
    found: list[Goal] = []
    full = [c for c in results.get("full") or [] if "hugo" in c["builds"]]
    if full:
        largest = max(full, key=lambda c: c["articles"])
        ours, hugo = largest["builds"]["broadsheet"]["run"], largest["builds"]["hugo"]["run"]
        size = f"{largest['articles']:,} articles"
        found.append(
            ratio_goal(
                f"full build, {size}: wall against Hugo's",
                ours["wall"] / hugo["wall"],
                FULL_WALL,
                f"{ours['wall']:.1f} s against {hugo['wall']:.1f} s",
            )
        )
        found.append(
            ratio_goal(
                f"full build, {size}: peak RSS against Hugo's",
                ours["peak_rss"] / hugo["peak_rss"],
                FULL_RSS,
                f"{ours['peak_rss'] / 1e6:.0f} MB against {hugo['peak_rss'] / 1e6:.0f} MB",
            )
        )
        again = largest["rebuild"]
        found.append(
            ratio_goal(
                f"unchanged second build, {size}: wall against the first",
                again["wall"] / ours["wall"],
                UNCHANGED,
                f"{again['wall']:.1f} s",
            )
        )
    found += _fitness(results.get("fitness"))
    found += _publish(results.get("publish") or [])
    found += _rebuild(results.get("rebuild") or [])
    found += _bulk(results.get("bulk") or [])
    return found


def _fitness(measured: dict[str, Any] | None) -> list[Goal]:
    if not measured:
        return []
    boto3 = measured["boto3"]
    slowest = max(measured["imports"], key=measured["imports"].get)
    worst = measured["imports"][slowest] / boto3
    largest = max(measured["layers"], key=measured["layers"].get)
    size = measured["layers"][largest]
    return [
        ratio_goal(
            "handler import against a bare import boto3 (the slowest handler)",
            worst,
            fitness.IMPORT_GOAL,
            f"{slowest}, {measured['imports'][slowest] * 1000:.0f} ms against {boto3 * 1000:.0f} ms",
        ),
        Goal(
            "largest layer unzipped",
            f"{size / 1e6:.1f} MB ({largest})",
            "≤ 25 MB",
            size <= fitness.LAYER_GOAL,
            "" if size <= fitness.LAYER_GOAL else f"{(size - fitness.LAYER_GOAL) / 1e6:.1f} MB over",
        ),
    ]


def _publish(actions: list[dict[str, Any]]) -> list[Goal]:
    singles = {a["articles"]: a["seconds"] for a in actions if a["action"] == "publish one article"}
    if len(singles) < 2:
        return []
    small, large = min(singles), max(singles)
    return [
        ratio_goal(
            f"time to live (local stack), {large:,} articles against {small:,}",
            singles[large] / singles[small],
            TIME_TO_LIVE,
            f"{singles[large]:.2f} s against {singles[small]:.2f} s",
        )
    ]


def _rebuild(measured: list[dict[str, Any]]) -> list[Goal]:
    if not measured:
        return []
    largest = rebuild_model.Measured(**max(measured, key=lambda m: m["articles"]))
    modelled = rebuild_model.model(largest)
    minutes, dollars = modelled.seconds / 60, sum(modelled.dollars.values())
    goal_minutes, size = rebuild_model.GOAL_SECONDS / 60, f"{modelled.articles:,} articles"
    return [
        Goal(
            f"site-wide re-render on AWS, {size} (modelled): time",
            f"{minutes:.1f} min",
            f"≤ {goal_minutes:.0f} min",
            minutes <= goal_minutes,
            "" if minutes <= goal_minutes else f"{minutes - goal_minutes:.1f} min over",
        ),
        Goal(
            f"site-wide re-render on AWS, {size} (modelled): cost",
            f"${dollars:.2f}",
            f"≤ ${rebuild_model.GOAL_DOLLARS:.0f}",
            dollars <= rebuild_model.GOAL_DOLLARS,
            ""
            if dollars <= rebuild_model.GOAL_DOLLARS
            else f"${dollars - rebuild_model.GOAL_DOLLARS:.2f} over",
        ),
    ]


def _bulk(bulks: list[dict[str, Any]]) -> list[Goal]:
    found: list[Goal] = []
    for bulk in bulks:
        count = int(bulk["action"].split()[0].replace(",", ""))
        drained = not bulk["unfinished"]
        equal = bulk["differ_from_build"] == []
        name = f"bulk upload of {count:,} into {bulk['articles']:,}"
        found.append(
            Goal(
                f"{name}: drains, and the site is the offline build",
                f"drained in {bulk['drained']:.0f} s, site {'equal' if equal else 'not equal'}"
                if drained
                else f"not drained in {bulk['drained']:.0f} s",
                "drains, equal",
                drained and equal,
            )
        )
        if count in HOME_RENDERS:
            most, renders = HOME_RENDERS[count], bulk["home_renders"]
            found.append(
                Goal(
                    f"{name}: home page renders",
                    str(renders),
                    f"≤ {most}",
                    drained and renders <= most,
                    "" if renders <= most else f"{renders - most} over",
                )
            )
    return found


def rows(found: list[Goal]) -> list[list[str]]:
    """The goals as table rows: goal, figure, target, and met or by how much not."""
    return [
        [g.name, g.figure, g.goal, "met" if g.met else f"not met{', ' + g.off if g.off else ''}"]
        for g in found
    ]


def main(argv: list[str]) -> int:
    """Print the goals of a saved run's figures."""
    results = json.loads(Path(argv[0]).read_text())
    print(f"Goals ({results.get('date', '')}, {results.get('machine', '')})")
    print(table(["goal", "measured", "target", ""], rows(goals(results))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

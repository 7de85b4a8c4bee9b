"""Invariant 1, Convergence, as a property of the running local stack.

A hypothesis state machine edits a small universe of articles and author profiles in the content
bucket of the session's stack (moto over HTTP, the real pollers and handlers). Each step is a
batch of one or two changes — create or replace an article, change one of its fields (title,
authors, tags, section, dates, body, draft toggle, aliases, teaser), delete it, upload or delete
an author profile — each delivered to ingest one to five times (the upload's own event plus
duplicate hints), all deliveries shuffled and sometimes sent from concurrent threads, with a fault
armed at the step boundary (`broadsheet_dev.local.faults`: S3 and DynamoDB errors and throttling, a
write applied but its answer lost, ingest killed after its index write, plan killed before it
queues the renders, render killed with its batch half written). Steps do not wait for each other.

After each example, once the pipeline has drained:

- the site bucket holds exactly the keys of the offline build of the content bucket's current
  objects, each with the same bytes (MD5 against the ETag after each example; the full bytes
  compared at the end of the run);
- the index holds exactly that content: every article item (document, live flag, sort key,
  listings), every listing entry, the archive month counts and every listing counter, the
  author profiles, and the aliases with the edge's alias store;
- no dead-letter queue has grown.

Examples accumulate on the session's site (each starts from the content the previous one left,
which the check after it found in line): starting each from an empty universe would double the
work. So hypothesis does not shrink (a shrunk example would start from the failed one's state);
the report is the first failing example, with the universe it started from. The examples are run in
two halves of different examples, one test class each, so that pytest-xdist can give each half a
worker (and a stack) of its own. The figures of each half, and of the two added up, go to
`test-artifacts/convergence.json`. `bench/soak.py` runs the same machine longer; the environment
variables below are its knobs.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from broadsheet.adapters.dynamo import article_from_item, entry_from_item
from broadsheet.adapters.folder import DirSiteStore
from broadsheet.adapters.sqs import SqsRenderQueue
from broadsheet.build import build_site, load_content
from broadsheet.clock import now
from broadsheet.contract.fields import slugify
from broadsheet.index.entries import Entry, entries_of, month_of
from broadsheet.index.memory import MemoryIndex
from broadsheet.index.ports import IndexedArticle
from broadsheet.pages import all_pages
from broadsheet.runtime import render as render_runtime
from broadsheet.settings import Settings
from broadsheet_dev.local.faults import TARGETS, Fault, FaultInjector, Kind
from broadsheet_dev.local.pollers import SqsPoller
from broadsheet_dev.local.runtime import LocalStack
from tests.support import ROOT, Editor, indexed

pytestmark = [pytest.mark.integration]

# The normal run: 140 examples of two steps, in two halves of 70 that run side by side;
# bench/soak.py runs longer soaks on fresh examples.
EXAMPLES = int(os.environ.get("BROADSHEET_CONVERGENCE_EXAMPLES", "100"))
STEPS = int(os.environ.get("BROADSHEET_CONVERGENCE_STEPS", "2"))
# The normal run is derandomized (the same examples every time); the soak explores afresh.
RANDOM = os.environ.get("BROADSHEET_CONVERGENCE_RANDOM", "") == "1"
FIGURES = Path(os.environ.get("BROADSHEET_CONVERGENCE_FIGURES", ROOT / "test-artifacts" / "convergence.json"))

# At most this many faults per example: each message then fails at most three times, under the
# five receives after which a queue moves it to its DLQ and the stream's five retries.
FAULTS_PER_EXAMPLE = 3
THREADS = 4
# Where an example's time goes.
PHASES = ("sending", "draining", "checking")

# -- the universe: few slugs and names, so that listings collide and paginate (page size 3) ----

SLUGS = ("prop-a", "prop-b", "prop-c", "prop-d", "prop-e")
# Old addresses the articles claim, shared so that claims collide. Never an article's own slug:
# ingest refuses a claim on an indexed article's address, so which upload is refused depends on
# the order (tests/integration/test_aliases.py covers that case).
OLD_SLUGS = ("prop-old-1", "prop-old-2", "prop-old-3")
# Two spellings of one author and of one tag share a page: which spelling heads it is decided
# by the entries, so it must come out the same however the entries arrived.
AUTHORS = ("Ada Quill", "Bo Renn", "Cy Sable", "ada quill")
PROFILES = {"ada-quill": ("Ada Quill", "Ada Q."), "bo-renn": ("Bo Renn",), "cy-sable": ("Cy Sable",)}
TAGS = ("Trade", "Energy Policy", "energy-policy", "Arctic")
SECTIONS = ("politics", "economy", "culture")
# Past dates over two months, with ties: one instant in two offsets, and a date in October in its
# own offset that is November in UTC. The last is the stack's clock itself.
DATES = (
    "2026-10-01T10:00:00Z",
    "2026-10-01T13:00:00+03:00",
    "2026-10-31T23:30:00-02:00",
    "2026-11-01T00:30:00Z",
    "2026-11-30T12:00:00Z",
)
UPDATED = ("2026-11-15T08:00:00Z", "2026-11-30T11:59:59+01:00")
BODIES = (
    "Short.",
    "## Sub-heading\n\nA paragraph with *emphasis* and a [link](https://example.org/a).",
    "- one\n- two\n\n> quoted <b>bold</b> & more",
)
TEASERS = ("A standfirst.", 'Quotes "and" <angles> & ampersands')
BIOS = ("Writes about trade.", "Covers the <Arctic> & energy.")
# The fields a patch changes (a field the drawn document lacks is removed; status is toggled).
FIELDS = (
    "title",
    "authors",
    "tags",
    "section",
    "published_at",
    "updated_at",
    "body",
    "status",
    "aliases",
    "teaser",
)

titles = st.text(alphabet="abcxyz ABC<>&'\"é—", min_size=1, max_size=20).filter(lambda t: t.strip() != "")


@st.composite
def article_docs(draw: st.DrawFn, slug: str) -> dict[str, Any]:
    """A valid article file for `slug`, with a random selection of the optional fields."""
    doc: dict[str, Any] = {
        "title": draw(titles),
        "authors": draw(st.lists(st.sampled_from(AUTHORS), min_size=1, max_size=3, unique_by=slugify)),
        "published_at": draw(st.sampled_from(DATES)),
        "body": draw(st.sampled_from(BODIES)),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "tags": st.lists(st.sampled_from(TAGS), min_size=1, max_size=3, unique_by=slugify),
        "section": st.sampled_from(SECTIONS),
        "status": st.sampled_from(("published", "draft")),
        "aliases": st.lists(st.sampled_from(OLD_SLUGS), min_size=1, max_size=2, unique=True),
        "teaser": st.sampled_from(TEASERS),
        "updated_at": st.sampled_from(UPDATED),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            doc[name] = draw(values)
    return doc


@dataclass(frozen=True)
class Change:
    """One change to one key: put a whole document, patch one field of the current one, or delete."""

    key: str
    action: str
    doc: dict[str, Any] = field(default_factory=dict)
    patched: str = ""

    def resolve(self, current: dict[str, Any] | None) -> dict[str, Any] | None:
        """The document the key holds after this change, given what it holds now (None: absent)."""
        if self.action == "delete":
            return None
        if self.action != "patch" or current is None:
            return self.doc
        patched = dict(current)
        name = self.patched
        if name == "status":
            patched["status"] = "draft" if current.get("status", "published") == "published" else "published"
        elif name in self.doc:
            patched[name] = self.doc[name]
        else:
            patched.pop(name, None)
        return patched


@st.composite
def changes(draw: st.DrawFn) -> Change:
    """A change to an article (most often) or an author profile."""
    if draw(st.integers(0, 9)) < 2:
        author = draw(st.sampled_from(sorted(PROFILES)))
        key = f"authors/{author}.json"
        if draw(st.integers(0, 3)) == 0:
            return Change(key, "delete")
        name, bio = draw(st.sampled_from(PROFILES[author])), draw(st.sampled_from(BIOS))
        profile: dict[str, Any] = {"name": name, "bio": bio}
        if draw(st.booleans()):
            profile["url"] = f"https://example.org/{author}"
        return Change(key, "put", profile)
    slug = draw(st.sampled_from(SLUGS))
    action = draw(st.sampled_from(("put", "put", "patch", "patch", "patch", "delete")))
    if action == "delete":
        return Change(f"articles/{slug}.json", "delete")
    return Change(f"articles/{slug}.json", action, draw(article_docs(slug)), draw(st.sampled_from(FIELDS)))


@dataclass(frozen=True)
class Batch:
    """One step: changes, the order their deliveries are sent in, how, and the fault armed first.

    A delivery is (change number, upload?): the upload itself (whose S3 event is the first
    delivery; a delete's is sent with it) or one more hint naming the key.
    """

    changes: tuple[Change, ...]
    deliveries: tuple[tuple[int, bool], ...]
    concurrent: bool
    fault: Fault | None

    @property
    def reordered(self) -> bool:
        """Whether the deliveries go out in another order than each upload followed by its hints."""
        return self.deliveries != tuple(sorted(self.deliveries, key=lambda d: (d[0], not d[1])))


faults = st.sampled_from(sorted(Kind, key=lambda k: k.value)).flatmap(
    lambda kind: st.builds(Fault, st.just(kind), st.sampled_from(TARGETS[kind]), st.integers(0, 4))
)


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    """A step's batch: one or two changes to distinct keys, each delivered 1-5 times, shuffled."""
    chosen = draw(st.lists(changes(), min_size=1, max_size=2, unique_by=lambda c: c.key))
    deliveries = [(i, True) for i in range(len(chosen))]
    for i in range(len(chosen)):
        deliveries += [(i, False)] * draw(st.integers(0, 4))
    order = draw(st.permutations(deliveries))
    return Batch(tuple(chosen), tuple(order), draw(st.booleans()), draw(st.none() | faults))


@dataclass
class Tally:
    """The figures of a run."""

    examples: int = 0
    steps: int = 0
    uploads: int = 0
    hints: int = 0
    shuffled_batches: int = 0
    concurrent_batches: int = 0
    retried_messages: int = 0
    faults_fired: Counter[str] = field(default_factory=Counter)
    faults_unfired: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    first_failure: str = ""

    def figures(self, result: str) -> dict[str, Any]:
        """What the README quotes."""
        return {
            "examples": self.examples,
            "steps": self.steps,
            "events_delivered": self.uploads + self.hints,
            "uploads": self.uploads,
            "duplicates": self.hints,
            "reorderings": self.shuffled_batches + self.concurrent_batches,
            "shuffled_batches": self.shuffled_batches,
            "concurrent_batches": self.concurrent_batches,
            "faults_injected": sum(self.faults_fired.values()),
            "faults_by_kind": dict(sorted(self.faults_fired.items())),
            "faults_armed_unfired": self.faults_unfired,
            "messages_retried_by_pollers": self.retried_messages,
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "result": result,
            "first_failure": self.first_failure,
        }


class Run:
    """What the examples of one run share: the stack, the editor, the faults, the universe."""

    def __init__(self, stack: LocalStack, folder: Path) -> None:
        self.stack = stack
        self.editor = Editor(stack)
        self.folder = folder
        self.tally = Tally()
        self.injector = FaultInjector()
        self.executor = ThreadPoolExecutor(THREADS, thread_name_prefix="editor")
        self.dynamodb = boto3.client("dynamodb")
        self.table = stack.stack.refs["IndexTable"]
        # The universe's documents as the bucket now holds them.
        self.world: dict[str, dict[str, Any]] = {}
        # Content bodies by MD5 (the ETag S3 lists them with): each is read at most once.
        self.bodies: dict[str, bytes] = {}
        self.dead_letters: dict[str, int] = {}
        self.retried = self.retried_messages()

    def start(self) -> None:
        """Rebuild the site, read the universe's current content, check the starting point."""
        # As `broadsheet rebuild` does: every page through the render queue. A stack on which no
        # article was ever live has no home page yet, though the offline build of it has one.
        pages = [page.id for page in all_pages(indexed(), Settings().page_size)]
        queue = SqsRenderQueue(self.editor.sqs, self.stack.stack.queue_url("RenderQueue"))
        queue.send(pages, cause=f"convergence-start-{time.time_ns()}")
        self.stack.wait_drained()
        content = self.content()
        universe = {f"articles/{s}.json" for s in SLUGS} | {f"authors/{a}.json" for a in PROFILES}
        self.world = {key: json.loads(body) for key, body in content.items() if key in universe}
        self.dead_letters = self.dlq_depths()
        problems = self.problems(content)
        assert not problems, "\n".join(["the site did not match the offline build at the start:", *problems])
        self.injector.attach(self.stack)

    def finish(self) -> None:
        """Delete the universe through the pipeline and compare every byte of the site."""
        for key in sorted(self.world):
            self.editor.delete(key)
        self.world = {}
        self.stack.wait_drained()
        content = self.content()
        problems = self.problems(content)
        expected, actual = self.offline_site(content), self.editor.site_files()
        problems += [f"bytes differ: {key}" for key in sorted(expected) if actual.get(key) != expected[key]]
        assert not problems, "\n".join(["after deleting the universe:", *problems])

    def close(self, result: str) -> dict[str, Any]:
        """Detach the faults; the run's figures."""
        self.injector.detach()
        self.executor.shutdown()
        self.tally.retried_messages = self.retried_messages() - self.retried
        return self.tally.figures(result)

    def send(self, change: Change, doc: dict[str, Any] | None, upload: bool) -> None:
        """One delivery: the upload (or delete) itself, or one more hint naming the key."""
        if not upload:
            self.editor.hint(change.key)
        elif doc is None:
            self.editor.delete(change.key)
        else:
            body = json.dumps(doc).encode()
            self.bodies[hashlib.md5(body).hexdigest()] = body
            self.editor.put(change.key, body)

    def retried_messages(self) -> int:
        """Messages the SQS pollers have handed back for another delivery, so far."""
        return sum(p.failed for p in self.stack.pollers if isinstance(p, SqsPoller))

    # -- the oracle -------------------------------------------------------------------------

    def content(self) -> dict[str, bytes]:
        """The current objects under articles/ and authors/ of the content bucket, key to bytes."""
        found: dict[str, bytes] = {}
        s3, bucket = self.editor.s3, self.editor.content
        for prefix in ("articles/", "authors/"):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for listed in page.get("Contents", []):
                    key, etag = listed["Key"], listed["ETag"].strip('"')
                    if etag not in self.bodies:
                        self.bodies[etag] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                    found[key] = self.bodies[etag]
        return found

    def dlq_depths(self) -> dict[str, int]:
        """Messages on each dead-letter queue."""
        depths: dict[str, int] = {}
        for logical, url in self.stack.stack.queues.items():
            if logical.endswith("DLQ"):
                names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
                counts = self.editor.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
                depths[logical] = sum(int(v) for v in counts["Attributes"].values())
        return depths

    def offline_site(self, content: dict[str, bytes]) -> dict[str, bytes]:
        """The offline build of `content`, key to bytes (its input stays in `oracle/content`)."""
        folder = self.folder / "oracle"
        shutil.rmtree(folder, ignore_errors=True)
        for key, body in content.items():
            path = folder / "content" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        build_site(folder / "content", folder / "site", Settings())
        out = folder / "site"
        return {key: (out / key).read_bytes() for key in DirSiteStore(out).list_keys()}

    def problems(self, content: dict[str, bytes]) -> list[str]:
        """Every way the site, the index and the DLQs differ from what `content` says they hold."""
        found = self.site_problems(self.offline_site(content))
        oracle, _ = load_content(self.folder / "oracle" / "content", Settings())
        found += self.index_problems(oracle, content)
        grown = {q: n for q, n in self.dlq_depths().items() if n > self.dead_letters.get(q, 0)}
        return found + [f"dead-letter queue {q} holds {n} message(s)" for q, n in grown.items()]

    def site_problems(self, expected: dict[str, bytes]) -> list[str]:
        """Keys the site and the build do not share, and pages whose MD5 is not the build's."""
        s3, bucket = self.editor.s3, self.editor.site
        listed = {
            o["Key"]: o["ETag"].strip('"')
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        }
        found = [f"site lacks {key}" for key in sorted(set(expected) - set(listed))]
        found += [f"site has a page the build has not: {key}" for key in sorted(set(listed) - set(expected))]
        for key in sorted(set(expected) & set(listed)):
            if hashlib.md5(expected[key]).hexdigest() != listed[key]:
                actual = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                diff = difflib.unified_diff(
                    expected[key].decode(errors="replace").splitlines(),
                    actual.decode(errors="replace").splitlines(),
                    "offline build",
                    "site bucket",
                    lineterm="",
                    n=1,
                )
                found.append(f"site page differs: {key}\n" + "\n".join(list(diff)[:40]))
        return found

    def index_problems(self, oracle: MemoryIndex, content: dict[str, bytes]) -> list[str]:
        """Where the index table holds anything but what the offline build indexed from `content`."""
        table = self.scan()
        at = now(Settings())
        expected = {indexed.article.slug: indexed for indexed in oracle.articles()}
        held = {slug: article_from_item(item) for slug, item in table["article#"].items()}
        found = [
            f"index article {slug}: holds {_brief(held.get(slug))}, content says {_brief(expected.get(slug))}"
            for slug in sorted(set(expected) | set(held))
            if _held(held.get(slug)) != _held(expected.get(slug))
        ]
        entries = {e for indexed in expected.values() for e in entries_of(indexed.article, at)}
        listed = {entry_from_item(item) for item in table["listing#"].values()}
        found += [f"index lacks entry {_entry(e)}" for e in sorted(entries - listed, key=_entry)]
        found += [f"index holds stale entry {_entry(e)}" for e in sorted(listed - entries, key=_entry)]
        months = dict(Counter(month_of(indexed.article) for indexed in expected.values() if indexed.live))
        counted = {m: int(item["count"]["N"]) for m, item in table["months"].items()}
        if {m: n for m, n in counted.items() if n} != months:
            found.append(f"index month counts {counted}, content says {months}")
        # Every other listing's counter: its number of entries (a listing emptied keeps a zero).
        lengths = Counter(e.listing for e in entries if not e.listing.startswith("month:"))
        counters = {x: int(item["count"]["N"]) for x, item in table["count#"].items()}
        if {x: n for x, n in counters.items() if n} != dict(lengths):
            found.append(f"index listing counters {counters}, content says {dict(lengths)}")
        authors = {key[len("authors/") : -len(".json")] for key in content if key.startswith("authors/")}
        for author in sorted(authors | set(table["author#"])):
            want, got = oracle.get_profile(author), indexed().get_profile(author)
            if want != got:
                found.append(f"index profile {author}: holds {got!r}, content says {want!r}")
        # Every claim an indexed article makes, and the edge's store as the offline rule decides it.
        claims = {f"{old}|claim#{i.article.slug}" for i in expected.values() for old in i.article.aliases}
        if set(table["alias#"]) != claims:
            found.append(f"index alias claims {sorted(table['alias#'])}, content says {sorted(claims)}")
        store, wanted = render_runtime.services().aliases.mapping(), oracle.redirects()
        if store != wanted:
            found.append(f"edge alias store {store}, the offline build's redirects {wanted}")
        return found

    def scan(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The index table's items (as DynamoDB returns them) by kind, keyed by the rest of the key."""
        found: dict[str, dict[str, dict[str, Any]]] = {
            kind: {} for kind in ("article#", "listing#", "author#", "alias#", "count#", "months")
        }
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                pk, sk = item["pk"]["S"], item["sk"]["S"]
                kind = "months" if pk == "months" else pk.split("#", 1)[0] + "#"
                if kind in found:
                    name = sk if kind == "months" else pk.split("#", 1)[1]
                    found[kind][f"{name}|{sk}" if kind in {"listing#", "alias#"} else name] = dict(item)
        return found


def _held(indexed: IndexedArticle | None) -> tuple[Any, ...] | None:
    """What the index must agree on about an article (not its source version or revision)."""
    if indexed is None:
        return None
    return (indexed.article, indexed.live, indexed.sort_key, sorted(indexed.listings))


def _brief(indexed: IndexedArticle | None) -> str:
    if indexed is None:
        return "nothing"
    title, live, listings = indexed.article.title, indexed.live, sorted(indexed.listings)
    return f"title={title!r} live={live} sort={indexed.sort_key} listings={listings}"


def _entry(entry: Entry) -> str:
    return f"{entry.listing}/{entry.slug} ({entry.title!r}, {entry.sort_key})"


class ConvergenceMachine(RuleBasedStateMachine):
    """Random batches of changes against the stack; the oracle after the last step."""

    run: ClassVar[Run]

    def __init__(self) -> None:
        super().__init__()
        self.armed = 0
        self.start = [f"  {key} = {json.dumps(doc)}" for key, doc in sorted(self.run.world.items())]
        self.log: list[str] = []

    @rule(batch=batches())
    def deliver(self, batch: Batch) -> None:
        """Arm the step's fault, then send every delivery of the batch, in its order."""
        run, tally = self.run, self.run.tally
        started = time.monotonic()
        if batch.fault is not None and self.armed < FAULTS_PER_EXAMPLE:
            run.injector.arm(batch.fault)
            self.armed += 1
        docs = [change.resolve(run.world.get(change.key)) for change in batch.changes]
        sends = [(batch.changes[i], docs[i], upload) for i, upload in batch.deliveries]
        if batch.concurrent:
            list(run.executor.map(lambda send: run.send(*send), sends))
        else:
            for send in sends:
                run.send(*send)
        self.log.append(f"  {batch!r}")
        for change, doc in zip(batch.changes, docs, strict=True):
            if doc is None:
                run.world.pop(change.key, None)
            else:
                run.world[change.key] = doc
            self.log.append(f"    so {change.key} = {json.dumps(doc)}")
        tally.steps += 1
        tally.uploads += len(batch.changes)
        tally.hints += len(batch.deliveries) - len(batch.changes)
        tally.shuffled_batches += batch.reordered and not batch.concurrent
        tally.concurrent_batches += batch.concurrent
        tally.seconds["sending"] += time.monotonic() - started

    def teardown(self) -> None:
        """Once the pipeline drains, the site and the index are what the content says."""
        run, tally = self.run, self.run.tally
        started = time.monotonic()
        run.stack.wait_drained()
        drained = time.monotonic()
        tally.seconds["draining"] += drained - started
        for fault in run.injector.disarm():
            tally.faults_unfired += 1
            self.log.append(f"  (never fired: {fault})")
        tally.faults_fired = Counter({kind.value: n for kind, n in run.injector.fired.items()})
        tally.examples += 1
        problems = run.problems(run.content())
        tally.seconds["checking"] += time.monotonic() - drained
        if problems:
            lines = ["the pipeline did not converge to the offline build:", *problems[:30]]
            lines += ["the universe at the start of the example (site and index matched it):", *self.start]
            lines += ["the example's steps:", *self.log]
            tally.first_failure = tally.first_failure or "\n".join(lines)
            raise AssertionError("\n".join(lines))


class FirstHalf(ConvergenceMachine):
    """The machine, under a name of its own: hypothesis draws a derandomized run's examples from
    the machine's digest, so the halves draw different examples."""


class SecondHalf(ConvergenceMachine):
    """The other half's examples."""


def converge(machine: type[ConvergenceMachine], examples: int, stack: LocalStack, folder: Path) -> None:
    """Run `examples` examples of `machine` on `stack`, then delete the universe and compare."""
    run = Run(stack, folder)
    run.start()
    machine.run = run
    result = "failed"
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=examples,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=not RANDOM,
                database=None,
                # Examples share the site, so a shrunk example would start from the failed one's
                # state: the first failure, with the state it started from, is the report.
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
        run.finish()
        result = "site identical to a full build; index identical to the content"
    except Exception as failure:
        if run.tally.first_failure:
            raise AssertionError(run.tally.first_failure) from failure
        raise
    finally:
        print(json.dumps(record(machine.__name__, run.close(result))))


def record(half: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Write one half's figures, and the sum of the halves of this run that have finished."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid-{os.getpid()}")
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    mine = FIGURES.with_name(f"{FIGURES.stem}.{half}.json")
    mine.write_text(json.dumps(figures | {"run": run_id}, indent=2) + "\n")
    with FIGURES.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        halves = [
            json.loads(path.read_text()) for path in sorted(FIGURES.parent.glob(f"{FIGURES.stem}.*Half.json"))
        ]
        total = add_up([h for h in halves if h.get("run") == run_id])
        FIGURES.write_text(json.dumps(total, indent=2) + "\n")
    return figures


def add_up(halves: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of several halves as one run's."""
    total: dict[str, Any] = {"halves": len(halves)}
    for half in halves:
        for key, value in half.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, dict):
                sums = total.setdefault(key, {})
                for name, number in value.items():
                    sums[name] = round(sums.get(name, 0) + number, 1)
    results = {half["result"] for half in halves}
    total["result"] = results.pop() if len(results) == 1 else "failed"
    total["first_failure"] = next((h["first_failure"] for h in halves if h["first_failure"]), "")
    return total


class TestFirstHalf:
    def test_site_and_index_converge_to_the_offline_build_whatever_happens_to_the_events(
        self, stack: LocalStack, tmp_path: Path
    ) -> None:
        converge(FirstHalf, EXAMPLES // 2, stack, tmp_path)


class TestSecondHalf:
    def test_site_and_index_converge_to_the_offline_build_whatever_happens_to_the_events(
        self, stack: LocalStack, tmp_path: Path
    ) -> None:
        converge(SecondHalf, EXAMPLES - EXAMPLES // 2, stack, tmp_path)

"""Each Lambda handler loads its own stage and the adapters it uses, nothing else.

A handler is imported in a fresh interpreter, as Lambda does (its folder first on the path), and
the modules it loaded are read back. What a handler loads is what it pays for at every cold start
and what its layers must carry; a stage that leaked into another handler's imports would also
couple their deployments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from broadsheet_dev.local.template import load_template, serverless_functions

ROOT = Path(__file__).resolve().parents[2]

# Never in any handler: the development package, the emulator, test code, or a module that
# loads every stage (the container's services are built per function).
NOWHERE = ("broadsheet_dev", "moto", "tests", "broadsheet.pipeline", "broadsheet.services")

PIPELINE_ONLY = (
    "broadsheet.ingest",
    "broadsheet.plan",
    "broadsheet.site",
    "broadsheet.reconcile",
    "broadsheet.build",
    "broadsheet.schedule",
    "broadsheet.render.html",
    "broadsheet.render.feeds",
    "broadsheet.render.sitemaps",
    "broadsheet.render.body",
    "broadsheet.adapters.s3_content",
    "broadsheet.adapters.s3_site",
    "broadsheet.adapters.sqs",
    "broadsheet.adapters.cloudfront",
    "broadsheet.adapters.kvs",
    "broadsheet.adapters.scheduler",
    "broadsheet.runtime",
)
# The imaging library and the stage that runs it: the media function's alone.
IMAGING = ("PIL", "broadsheet.media.renditions", "broadsheet.media.stage", "broadsheet.runtime.media")
RENDERING = (
    "broadsheet.render.html",
    "broadsheet.render.feeds",
    "broadsheet.render.sitemaps",
    "broadsheet.render.templating",
    "broadsheet.site",
    "broadsheet.adapters.s3_site",
)

# The Markdown front-matter reader and YAML: ingest reads every upload; the rest only name keys
# (reconcile parses an article only where its version has drifted).
FRONT_MATTER = ("broadsheet.contract.markdown", "yaml")

# What each handler must not load, beyond NOWHERE.
NOT_LOADED = {
    "ingest": (
        *IMAGING,
        *RENDERING,
        "broadsheet.plan",
        "broadsheet.reconcile",
        "broadsheet.build",
        "broadsheet.newsletter",
        "broadsheet.index.memory",
        "broadsheet.adapters.cloudfront",
        "broadsheet.adapters.kvs",
        "broadsheet.runtime.plan",
        "broadsheet.runtime.render",
        "broadsheet.runtime.reconcile",
    ),
    "plan": (
        *FRONT_MATTER,
        *IMAGING,
        *RENDERING,
        "broadsheet.ingest",
        "broadsheet.reconcile",
        "broadsheet.build",
        "broadsheet.schedule",
        "broadsheet.newsletter",
        "broadsheet.index.memory",
        "broadsheet.contract.files",
        "broadsheet.adapters.s3_content",
        "broadsheet.adapters.cloudfront",
        "broadsheet.adapters.kvs",
        "broadsheet.adapters.scheduler",
        "broadsheet.runtime.ingest",
        "broadsheet.runtime.render",
        "broadsheet.runtime.reconcile",
    ),
    "render": (
        *FRONT_MATTER,
        *IMAGING,
        "broadsheet.ingest",
        "broadsheet.plan",
        "broadsheet.reconcile",
        "broadsheet.build",
        "broadsheet.schedule",
        "broadsheet.newsletter",
        "broadsheet.index.memory",
        "broadsheet.contract.files",
        "broadsheet.adapters.s3_content",
        "broadsheet.adapters.scheduler",
        "broadsheet.runtime.ingest",
        "broadsheet.runtime.plan",
        "broadsheet.runtime.reconcile",
    ),
    "reconcile": (
        *FRONT_MATTER,
        *IMAGING,
        "broadsheet.ingest",
        "broadsheet.plan",
        "broadsheet.schedule",
        "broadsheet.newsletter",
        "broadsheet.adapters.cloudfront",
        "broadsheet.adapters.scheduler",
        "broadsheet.runtime.ingest",
        "broadsheet.runtime.plan",
        "broadsheet.runtime.render",
    ),
    "media": (
        *FRONT_MATTER,
        *RENDERING,
        "broadsheet.ingest",
        "broadsheet.plan",
        "broadsheet.reconcile",
        "broadsheet.build",
        "broadsheet.schedule",
        "broadsheet.newsletter",
        "broadsheet.index.memory",
        "broadsheet.render.body",
        "broadsheet.adapters.cloudfront",
        "broadsheet.adapters.kvs",
        "broadsheet.adapters.scheduler",
        "broadsheet.runtime.ingest",
        "broadsheet.runtime.plan",
        "broadsheet.runtime.render",
        "broadsheet.runtime.reconcile",
    ),
    "subscribe": (*PIPELINE_ONLY, *FRONT_MATTER, "broadsheet.newsletter.digest", "broadsheet.index.memory"),
    "digest": (*PIPELINE_ONLY, *FRONT_MATTER, "broadsheet.newsletter.api", "broadsheet.index.memory"),
    # Suppress marks subscribers in their table: no secret to unseal, no mail to compose.
    "suppress": (
        *PIPELINE_ONLY,
        *FRONT_MATTER,
        "broadsheet.newsletter.api",
        "broadsheet.newsletter.digest",
        "broadsheet.newsletter.services",
        "broadsheet.newsletter.keys",
        "broadsheet.newsletter.mail",
        "broadsheet.render.templating",
        "broadsheet.index.memory",
        "cryptography",
        "jinja2",
    ),
}

# Third-party packages and the layer that carries each (the rest come with the shared layer or
# the runtime). Some are needed only when called: awscrt, which botocore imports whenever it is
# installed, signs the alias store's requests (SigV4A); ingest checks a body's shape with the
# Markdown parser when it validates a file (the contract imports it there, so the newsletter's
# functions, which read validated articles back, never need it).
LAYER_OF = {
    "pyromark": "MarkdownLayer",
    "nh3": "MarkdownLayer",
    "cryptography": "CryptographyLayer",
    "PIL": "ImagingLayer",
}
CALL_TIME_LAYERS = {
    "IngestFunction": {"MarkdownLayer"},
    "RenderFunction": {"AwsCrtLayer"},
    "ReconcileFunction": {"AwsCrtLayer"},
}

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(function: str) -> set[str]:
    """The modules a fresh interpreter holds after importing the handler of `function`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROADSHEET_", "AWS_"))}
    env |= {"BROADSHEET_TABLE_NAME": "t", "BROADSHEET_CONTENT_BUCKET": "c", "BROADSHEET_SITE_BUCKET": "s"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / function)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT / "functions" / function,
    ).stdout
    return set(json.loads(out))


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    """Whether `module` is one of `prefixes` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


# Every handler in functions/: one without an entry above fails, rather than going unchecked.
HANDLERS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())


@pytest.mark.parametrize("function", HANDLERS)
def test_each_handler_loads_its_own_stage_and_nothing_of_the_others(function: str) -> None:
    modules = loaded_by(function)
    assert f"broadsheet.runtime.{function}" in modules or function in {"subscribe", "digest", "suppress"}
    leaked = sorted(m for m in modules if within(m, NOWHERE + NOT_LOADED[function]))
    assert leaked == [], f"{function} loads {leaked}"


def test_each_function_carries_exactly_the_layers_its_handler_needs() -> None:
    functions = serverless_functions(load_template(ROOT / "template.yaml"))
    for name, function in functions.items():
        folder = Path(function["CodeUri"]).name
        modules = loaded_by(folder)
        needed = {"BroadsheetLayer"} | {LAYER_OF[m] for m in modules if m in LAYER_OF}
        needed |= CALL_TIME_LAYERS.get(name, set())
        layers = {ref["Ref"] if isinstance(ref, dict) else ref for ref in function["Layers"]}
        assert layers == needed, name

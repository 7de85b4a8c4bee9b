"""The running local stack: moto, the template's resources, the pollers and the edge server."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from broadsheet.adapters import clients
from broadsheet.adapters.sqs import SqsRenderQueue
from broadsheet.clock import now
from broadsheet.observability import logger, metrics
from broadsheet.pages import STATIC_PAGES
from broadsheet.runtime import ingest as ingest_runtime
from broadsheet.runtime import plan as plan_runtime
from broadsheet.runtime import reconcile as reconcile_runtime
from broadsheet.runtime import render as render_runtime
from broadsheet.settings import settings
from broadsheet_dev.local import newsletter
from broadsheet_dev.local.kvs import ARN as KVS_ARN
from broadsheet_dev.local.kvs import KeyValueStoreServer
from broadsheet_dev.local.pollers import (
    Activity,
    LambdaContext,
    Poller,
    SqsPoller,
    StreamPoller,
    load_handler,
)
from broadsheet_dev.local.scheduler import SchedulePoller
from broadsheet_dev.local.server import EdgeServer
from broadsheet_dev.local.stack import Deployed, deploy, start_moto, use_endpoint
from broadsheet_dev.local.template import load_template, response_headers

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

# What Lambda sets in every function's environment, and what only makes sense on AWS.
LOCAL_ENVIRONMENT = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    # Metrics go nowhere locally; the pollers discard them after each invocation.
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Broadsheet",
    "AWS_LAMBDA_FUNCTION_NAME": "broadsheet-local",
}


@dataclass(frozen=True)
class StackOptions:
    """How to run the local stack. Port 0 means any free loopback port."""

    root: Path
    site_port: int = 3000
    aws_port: int = 0
    wait_seconds: int = 1
    retry_delay: int | None = None
    log_level: str = "WARNING"
    parameters: Mapping[str, str] | None = None


class LocalStack:
    """Everything `broadsheet local` runs, startable and stoppable from tests."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.activity = Activity()
        self.pollers: list[Poller] = []
        self.deployed: Deployed | None = None
        self.edge: EdgeServer | None = None
        self.kvs: KeyValueStoreServer | None = None
        self._moto: Any = None
        self.newsletter_environment: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalStack:
        """Start moto, create the resources, start the pollers and the edge server."""
        self._moto, endpoint = start_moto(self.options.aws_port)
        use_endpoint(endpoint)
        template_path = self.options.root / "template.yaml"
        # The edge binds first so the site's own address is known before the functions' settings.
        # The alias store: the edge reads it in process, the render function through its API.
        self.kvs = KeyValueStoreServer().start()
        os.environ["AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE"] = self.kvs.endpoint
        self.edge = EdgeServer(
            "",
            response_headers(load_template(template_path)),
            self.kvs.store.mapping,
            port=self.options.site_port,
        )
        parameters = {"SiteUrl": self.edge.url, **(self.options.parameters or {})}
        self.deployed = deploy(template_path, endpoint, parameters, alias_store_arn=KVS_ARN)
        self.edge.bucket = self.deployed.site_bucket
        os.environ.update(self.deployed.environment)
        prepared = newsletter.prepare(load_template(template_path), self.deployed)
        self.newsletter_environment = prepared.environment
        os.environ.update(self.newsletter_environment)
        os.environ.update(LOCAL_ENVIRONMENT)
        os.environ["POWERTOOLS_LOG_LEVEL"] = self.options.log_level
        logger.setLevel(self.options.log_level)
        reset_services()
        self._start_scheduler(self.deployed)
        self._start_pollers(self.deployed)
        self.edge.api = newsletter.LocalApi(self.options.root, load_template(template_path), prepared.refs)
        self.edge.start()
        return self

    def stop(self) -> None:
        """Stop everything, pollers first so no handler runs against a stopped server."""
        for poller in self.pollers:
            poller.stopping.set()
        self.activity.notify()
        for poller in self.pollers:
            poller.stop()
        if self.edge is not None:
            self.edge.stop()
        if self.kvs is not None:
            self.kvs.stop()
        if self._moto is not None:
            self._moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_scheduler(self, deployed: Deployed) -> None:
        """Create the schedule group ingest schedules articles in, and run them when due."""
        group = deployed.environment.get("BROADSHEET_SCHEDULE_GROUP")
        if not group:
            return
        boto3.client("scheduler").create_schedule_group(Name=group)
        # The stack's own clock, as its functions read it, even if the process settings change.
        config = settings()
        poller = SchedulePoller("Scheduler", self.activity, group, clock=lambda: now(config))
        self.pollers.append(poller)
        poller.start()

    def _start_pollers(self, deployed: Deployed) -> None:
        for source in deployed.sources:
            handler = load_handler(self.options.root, source.code_uri, source.handler)

            def context(name: str = source.function, timeout: int = source.timeout) -> LambdaContext:
                return LambdaContext(name, timeout_ms=timeout * 1000)

            poller: Poller
            if source.type == "SQS":
                url = deployed.queue_url(source.source)
                delay = self.options.retry_delay
                poller = SqsPoller(
                    source.function, self.activity, handler, url, deployed.attrs[(source.source, "Arn")],
                    batch_size=source.batch_size, wait_seconds=self.options.wait_seconds,
                    context_factory=context,
                    **({"retry_delay": lambda _receives, d=delay: d} if delay is not None else {}),
                )  # fmt: skip
            else:
                on_failure = deployed.queue_url(source.on_failure) if source.on_failure else None
                poller = StreamPoller(
                    source.function, self.activity, handler, deployed.stream_arn,
                    batch_size=source.batch_size, max_retries=source.maximum_retry_attempts or 5,
                    on_failure_url=on_failure, context_factory=context, filters=source.filters,
                    retry_delay=0.5 if self.options.retry_delay is None else self.options.retry_delay,
                )  # fmt: skip
            poller.after_invoke = metrics.clear_metrics
            self.pollers.append(poller)
            poller.start()

    # -- using it --------------------------------------------------------------------------

    @property
    def stack(self) -> Deployed:
        """The deployed resources (after start)."""
        if self.deployed is None:
            raise RuntimeError("the local stack is not started")
        return self.deployed

    def render_static_pages(self) -> None:
        """Ask for the pages no article change ever plans: the 404 page and the stylesheet."""
        queue = SqsRenderQueue(boto3.client("sqs"), self.stack.queue_url("RenderQueue"))
        queue.send([page.id for page in STATIC_PAGES], cause=f"static-{time.time_ns()}")

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting or in flight on every queue, by logical id."""
        sqs: SQSClient = boto3.client("sqs")
        depths: dict[str, int] = {}
        for logical, url in self.stack.queues.items():
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            depths[logical] = sum(int(v) for v in attributes.values())
        return depths

    def drained(self) -> bool:
        """Whether the pipeline has drained, without waiting out the SQS pollers' long polls.

        A queue's depth counts its messages until they are deleted, and an SQS poller records
        its work (a new tick) before deleting, so an empty queue means its work is done and
        visible. The stream has no depth: its poller must have found nothing since the last tick.
        """
        tick = self.activity.tick
        if not self._settled():
            return False
        # One queue at a time, stopping at the first with work: asked often while work goes on.
        for logical, url in self.stack.queues.items():
            if not logical.endswith("DLQ") and self._depth(url):
                return False
        return self.activity.tick == tick and self._settled()

    def _settled(self) -> bool:
        return all(not p.busy if isinstance(p, SqsPoller) else p.quiet() for p in self.pollers)

    def _depth(self, url: str) -> int:
        names: list[QueueAttributeFilterType] = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(v) for v in attributes.values())

    @cached_property
    def _sqs(self) -> SQSClient:
        return boto3.client("sqs")

    def wait_drained(self, timeout: float = 300.0) -> None:
        """Block until `drained()`: a condition, never a fixed sleep."""
        deadline = time.monotonic() + timeout
        while not self.drained():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the pipeline did not drain in {timeout}s: {self.queue_depths()}")
            with self.activity.changed:
                self.activity.changed.wait(0.1)

    def write_state(self, path: Path) -> None:
        """Record where this stack listens, for `broadsheet publish` in another terminal."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = json.loads(self.stack.to_json())
        state["site"] = self.edge.url if self.edge else ""
        state["page_size"] = settings().page_size
        state["newsletter"] = self.newsletter_environment
        path.write_text(json.dumps(state, indent=2) + "\n")


def reset_services() -> None:
    """Forget the settings, clients and services of every function, so that each is built again
    from the environment (the stack's endpoint and resource names) on its next use."""
    settings.cache_clear()
    clients.reset()
    for runtime in (ingest_runtime, plan_runtime, render_runtime, reconcile_runtime):
        runtime.services.cache_clear()

"""The local stack: a moto server with the resources of `template.yaml`, and the wiring SAM does.

moto's CloudFormation creates buckets, queues and the table, but knows nothing of SAM
functions, CloudFront or bucket notifications. So the template's own resources of those
three kinds go to `create_stack` unchanged, and everything else the template says — event
sources, notifications, function environment — is read from it here and wired by hand.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from broadsheet_dev.local.intrinsics import evaluate_conditions, resolve
from broadsheet_dev.local.template import (
    EventSource,
    bucket_notifications,
    event_sources,
    load_template,
    parameter_defaults,
    pseudo_parameters,
)

STACK_NAME = "broadsheet"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SCHEDULE_GROUP = f"{STACK_NAME}-articles"
_PR_SET_PDEATHSIG = 1
LOCAL_TYPES = {"AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::DynamoDB::Table"}
# moto's CloudFormation ignores these properties or rejects their references to resources
# it does not create; the local stack applies the notifications itself.
_DROPPED_PROPERTIES = {"AWS::S3::Bucket": {"NotificationConfiguration"}}
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass(frozen=True)
class Deployed:
    """What the local deployment created: physical names and the handlers' environment."""

    endpoint: str
    refs: dict[str, str]
    attrs: dict[tuple[str, str], str]
    sources: list[EventSource]
    environment: dict[str, str]
    stream_arn: str
    queues: dict[str, str] = field(default_factory=dict)
    # Each dead-letter queue's source queue, by logical id (from the template's RedrivePolicy).
    redrive: dict[str, str] = field(default_factory=dict)

    @property
    def content_bucket(self) -> str:
        """The content bucket's name."""
        return self.refs["ContentBucket"]

    @property
    def site_bucket(self) -> str:
        """The site bucket's name."""
        return self.refs["SiteBucket"]

    def queue_url(self, logical_id: str) -> str:
        """A queue's URL by its logical id."""
        return self.refs[logical_id]

    def to_json(self) -> str:
        """What other processes (`broadsheet publish`) need to find this stack."""
        return json.dumps(
            {
                "endpoint": self.endpoint,
                "content_bucket": self.content_bucket,
                "site_bucket": self.site_bucket,
                "ingest_queue_url": self.queue_url("IngestQueue"),
                "media_queue_url": self.queue_url("MediaQueue"),
                "render_queue_url": self.queue_url("RenderQueue"),
                "table": self.refs["IndexTable"],
                "queues": self.queues,
                "redrive": self.redrive,
            },
            indent=2,
        )


class MotoServer:
    """A moto server in a process of its own, so AWS emulation and handlers use both cores."""

    def __init__(self, port: int) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "broadsheet_dev.local.emulator", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only sets a signal, no locks
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)  # the server is still binding its port
        raise TimeoutError(f"moto server did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        """Stop the server."""
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _die_with_parent() -> None:
    """In the child: ask Linux to end it when the stack's process dies, however that happens."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return  # not Linux: the stack's stop() still ends the server


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(port: int) -> tuple[MotoServer, str]:
    """Start a moto server on loopback (`port` 0 picks a free one); return it and its URL."""
    server = MotoServer(port)
    return server, server.url


def use_endpoint(endpoint: str) -> None:
    """Point every boto3 client this process creates at `endpoint`, with dummy credentials."""
    os.environ.update(CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint


def local_template(template: dict[str, Any]) -> dict[str, Any]:
    """The part of the template moto's CloudFormation can create, unchanged otherwise."""
    resources: dict[str, Any] = {}
    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type")
        if kind not in LOCAL_TYPES:
            continue
        properties = {
            k: v
            for k, v in (resource.get("Properties") or {}).items()
            if k not in _DROPPED_PROPERTIES.get(kind, set())
        }
        resources[logical_id] = {"Type": kind, "Properties": properties}
    parameters = template.get("Parameters") or {}
    return {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": parameters, "Resources": resources}


def deploy(
    template_path: Path, endpoint: str, overrides: dict[str, str] | None = None, alias_store_arn: str = ""
) -> Deployed:
    """Create the template's buckets, queues and table on the moto server at `endpoint`.

    `overrides` sets template parameters (SiteUrl, PageSize…); `alias_store_arn` stands for the
    KeyValueStore, which moto does not have (the local stack serves one itself). Returns the
    physical names and the environment the functions would get on AWS, resolved for this stack.
    """
    template = load_template(template_path)
    session = boto3.Session(region_name=REGION)
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    parameters = {**parameter_defaults(template), **(overrides or {})}
    cfn.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(local_template(template)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    refs: dict[str, str] = {**parameters, **pseudo_parameters(STACK_NAME, REGION, ACCOUNT_ID)}
    attrs: dict[tuple[str, str], str] = {}
    sqs = session.client("sqs", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    stream_arn = ""
    for resource in cfn.describe_stack_resources(StackName=STACK_NAME)["StackResources"]:
        logical, physical = resource["LogicalResourceId"], resource.get("PhysicalResourceId", "")
        kind = resource["ResourceType"]
        if kind == "AWS::SQS::Queue":
            # A queue's Ref is its URL; its ARN comes from its attributes.
            url = (
                physical if physical.startswith("http") else sqs.get_queue_url(QueueName=physical)["QueueUrl"]
            )
            refs[logical] = url
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            attrs[(logical, "Arn")] = arn
            attrs[(logical, "QueueName")] = arn.rsplit(":", 1)[-1]
        elif kind == "AWS::S3::Bucket":
            refs[logical] = physical
            attrs[(logical, "Arn")] = f"arn:aws:s3:::{physical}"
        elif kind == "AWS::DynamoDB::Table":
            refs[logical] = physical
            table = dynamodb.describe_table(TableName=physical)["Table"]
            attrs[(logical, "Arn")] = table["TableArn"]
            # Only the index is streamed; other tables (subscribers) must not blank its stream.
            attrs[(logical, "StreamArn")] = table.get("LatestStreamArn", "")
            stream_arn = stream_arn or attrs[(logical, "StreamArn")]
    # No CloudFront locally: the site is served by the local edge server instead, which reads
    # the aliases from the local KeyValueStore.
    refs["Distribution"] = ""
    attrs[("Distribution", "DomainName")] = ""
    attrs[("AliasStore", "Arn")] = alias_store_arn
    # Nor IAM or EventBridge Scheduler: the local stack creates the schedule group by this name
    # itself (moto's scheduler does not check roles).
    refs["ArticleSchedules"] = SCHEDULE_GROUP
    attrs[("SchedulerRole", "Arn")] = f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-scheduler"
    # Nor Secrets Manager resources: the preview secret is created here, a fresh one per stack.
    refs["PreviewSecret"] = session.client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=f"{STACK_NAME}-preview-{secrets.token_hex(4)}", SecretString=secrets.token_urlsafe(48)
    )["ARN"]
    conditions = evaluate_conditions(template, refs, attrs)
    _wire_notifications(template, session, endpoint, refs, attrs)
    _apply_versioning(template, session, endpoint, refs)
    sources = event_sources(template)
    environment: dict[str, str] = {}
    for source in sources:
        for name, value in source.environment.items():
            resolved = resolve(value, refs, attrs, conditions)
            if resolved not in (None, ""):
                environment[name] = str(resolved)
    queues = {logical: refs[logical] for (logical, attr) in attrs if attr == "QueueName"}
    return Deployed(
        endpoint, refs, attrs, sources, environment, stream_arn, queues, redrive_sources(template)
    )


def redrive_sources(template: dict[str, Any]) -> dict[str, str]:
    """Each dead-letter queue's source queue, by logical id, from the queues' RedrivePolicy."""
    found: dict[str, str] = {}
    for logical, resource in template["Resources"].items():
        policy = (resource.get("Properties") or {}).get("RedrivePolicy") or {}
        target = policy.get("deadLetterTargetArn")
        if isinstance(target, dict) and "Fn::GetAtt" in target:
            found[str(target["Fn::GetAtt"][0])] = logical
    return found


def _apply_versioning(
    template: dict[str, Any], session: boto3.Session, endpoint: str, refs: dict[str, str]
) -> None:
    """Turn on versioning where the template asks for it (moto's CloudFormation does not)."""
    s3 = session.client("s3", endpoint_url=endpoint)
    for logical, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::S3::Bucket":
            continue
        status = ((resource.get("Properties") or {}).get("VersioningConfiguration") or {}).get("Status")
        if status == "Enabled":
            s3.put_bucket_versioning(Bucket=refs[logical], VersioningConfiguration={"Status": "Enabled"})


def _wire_notifications(
    template: dict[str, Any],
    session: boto3.Session,
    endpoint: str,
    refs: dict[str, str],
    attrs: dict[tuple[str, str], str],
) -> None:
    s3 = session.client("s3", endpoint_url=endpoint)
    by_bucket: dict[str, list[dict[str, Any]]] = {}
    for note in bucket_notifications(template):
        config: dict[str, Any] = {"QueueArn": attrs[(note.queue, "Arn")], "Events": [note.event]}
        rules = [{"Name": n, "Value": v} for n, v in (("prefix", note.prefix), ("suffix", note.suffix)) if v]
        if rules:
            config["Filter"] = {"Key": {"FilterRules": rules}}
        by_bucket.setdefault(refs[note.bucket], []).append(config)
    for bucket, configs in by_bucket.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": configs},  # type: ignore[typeddict-item]
        )

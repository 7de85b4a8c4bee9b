"""The cost model: AWS requests of one publish, priced, and of 1,000 publishes a day for a month.

Prices are AWS's published on-demand list prices for us-east-1 (arm64 Lambda), written here so
a reader can check them. Units are estimated from the request counts: a DynamoDB request is one
capacity unit, except a transaction (two write units per item written) and a query of listing
entries (three read units: a page of entries is about 10 KB, read strongly consistent).
Lambda GB-seconds come from the handlers' measured time on the local stack, where every AWS
request goes to moto over loopback on a shared machine: an upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.publish import Publish
from broadsheet_dev.local.template import load_template

ROOT = Path(__file__).resolve().parents[1]
PER_MONTH = 1000 * 30
FREE_INVALIDATION_PATHS = 1000
# USD per request or unit.
S3_WRITE = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_READ = 0.0004 / 1000  # GET, HEAD
DYNAMODB_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_READ_UNIT = 0.125 / 1e6
SQS_STANDARD = 0.40 / 1e6
SQS_FIFO = 0.50 / 1e6
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
INVALIDATION_PATH = 0.005
_S3_WRITES = {"PutObject", "CopyObject", "ListObjectsV2"}
_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


@dataclass(frozen=True)
class Line:
    """One row of the cost table."""

    service: str
    requests: str
    per_publish: float
    per_month: float


def memory_sizes() -> dict[str, int]:
    """Each function's memory in MB, from template.yaml."""
    template = load_template(ROOT / "template.yaml")
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    return {
        name: int(resource.get("Properties", {}).get("MemorySize", default))
        for name, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def lines(publish: Publish) -> list[Line]:
    """The cost of one measured publish, by service, and of a month at 1,000 a day."""
    counts = {**publish.requests, **{k: v for k, v in publish.polling.items() if k.startswith("sqs:")}}
    s3_writes = sum(n for k, n in counts.items() if k.startswith("s3:") and k[3:] in _S3_WRITES)
    s3_reads = sum(
        n for k, n in counts.items() if k.startswith("s3:") and k[3:] in {"GetObject", "HeadObject"}
    )
    s3_deletes = counts.get("s3:DeleteObject", 0)
    queries = counts.get("dynamodb:Query", 0)
    gets = sum(n for k, n in counts.items() if k in {"dynamodb:GetItem", "dynamodb:BatchGetItem"})
    writes = sum(n for k, n in counts.items() if k.startswith("dynamodb:") and k[9:] in _DYNAMODB_WRITES)
    write_units = writes + 2 * publish.transaction_items
    read_units = 3 * queries + gets
    sqs = sum(n for k, n in counts.items() if k.startswith("sqs:"))
    sizes = memory_sizes()
    gb_seconds = sum(
        seconds * sizes.get(name, 512) / 1024 for name, seconds in publish.handler_seconds.items()
    )
    invocations = sum(publish.invocations.values())
    paths = publish.invalidation_paths
    month_paths = max(0, paths * PER_MONTH - FREE_INVALIDATION_PATHS)
    made = [
        Line("S3", f"{s3_writes} PUT/LIST, {s3_reads} GET/HEAD, {s3_deletes} DELETE",
             s3_writes * S3_WRITE + s3_reads * S3_READ, 0.0),
        Line("DynamoDB", f"{write_units} write units ({publish.transaction_items} items in transactions), "
             f"{read_units} read units ({queries} queries, {gets} gets)",
             write_units * DYNAMODB_WRITE_UNIT + read_units * DYNAMODB_READ_UNIT, 0.0),
        Line("SQS", f"{sqs} requests (sends, receives, deletes; FIFO price)", sqs * SQS_FIFO, 0.0),
        Line("Lambda", f"{invocations} invocations, {gb_seconds:.2f} GB-s (arm64, upper bound)",
             invocations * LAMBDA_REQUEST + gb_seconds * LAMBDA_GB_SECOND, 0.0),
        Line("CloudFront invalidations", f"{paths} paths ({FREE_INVALIDATION_PATHS:,} a month free)",
             0.0, month_paths * INVALIDATION_PATH),
    ]  # fmt: skip
    return [
        Line(line.service, line.requests, line.per_publish, line.per_month or line.per_publish * PER_MONTH)
        for line in made
    ]

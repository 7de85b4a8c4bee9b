"""The rebuild model scales measured per-page figures and prices them as stated."""

from __future__ import annotations

import math

import pytest

from bench import cost, rebuild_model
from bench.rebuild_model import Measured


def measured(render_seconds: float = 50.0) -> Measured:
    # 1,000 articles, 2,500 pages, each: 4 queries, 1 get, 2 S3 reads, 0.3 SQS requests.
    return Measured(
        articles=1000, pages=2500, rendered=2500, seconds=120.0, enqueue_seconds=25.0,
        render_seconds=render_seconds, invocations=250, listing_seconds=10.0, listing_requests=500,
        requests={"dynamodb:Query": 10_000, "dynamodb:GetItem": 2500, "s3:HeadObject": 2500,
                  "s3:GetObject": 2500, "sqs:ReceiveMessage": 500, "sqs:DeleteMessageBatch": 250},
    )  # fmt: skip


def test_pages_time_and_dollars_scale_from_the_measured_per_page_figures() -> None:
    m = rebuild_model.model(measured(), articles=100_000, concurrency=50)
    assert m.pages == 250_000
    assert m.page_seconds == pytest.approx(0.02)
    # 500 listing requests for 2,500 pages scale to 50,000, and 25,000 sends: both at the assumed
    # latencies over 16 threads. Rendering overlaps them.
    listing = 50_000 * rebuild_model.DYNAMODB_REQUEST_SECONDS / 16
    sends = 25_000 * rebuild_model.SQS_SEND_SECONDS / 16
    assert m.enqueue_seconds == pytest.approx(listing + sends)
    assert m.listing_bound_seconds == pytest.approx(1000.0)  # the local 10 s, scaled
    assert m.render_seconds == pytest.approx(250_000 * 0.02 / 50)
    assert m.seconds == pytest.approx(max(listing + sends, 100.0))
    gb = cost.memory_sizes()["RenderFunction"] / 1024
    lambda_cost = 250_000 * 0.02 * gb * cost.LAMBDA_GB_SECOND + 25_000 * cost.LAMBDA_REQUEST
    assert m.dollars["Lambda (render, arm64)"] == pytest.approx(lambda_cost)
    assert m.dollars["SQS FIFO"] == pytest.approx((25_000 + 250_000 * 0.3) * cost.SQS_FIFO)
    assert m.dollars["S3 PUT (every page)"] == pytest.approx(250_000 * cost.S3_WRITE)
    assert m.dollars["DynamoDB reads"] == pytest.approx(250_000 * (3 * 4 + 1) * cost.DYNAMODB_READ_UNIT)
    assert math.isclose(m.total, sum(m.dollars.values()))


def test_the_concurrency_needed_fits_rendering_into_the_goal() -> None:
    m = rebuild_model.model(measured(), articles=100_000, concurrency=10)
    assert m.needed_concurrency == math.ceil(250_000 * 0.02 / 600)


def test_no_concurrency_suffices_when_listing_alone_exceeds_the_goal() -> None:
    slow = Measured(**{**measured().__dict__, "listing_requests": 5_000_000})
    assert rebuild_model.model(slow, articles=100_000, concurrency=10).needed_concurrency == 0


def test_the_model_reads_the_render_queue_concurrency_from_the_template() -> None:
    assert rebuild_model.render_concurrency() >= 1

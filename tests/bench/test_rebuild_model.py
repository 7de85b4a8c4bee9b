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
        render_seconds=render_seconds, invocations=250, listing_seconds=10.0,
        requests={"dynamodb:Query": 10_000, "dynamodb:GetItem": 2500, "s3:HeadObject": 2500,
                  "s3:GetObject": 2500, "sqs:ReceiveMessage": 500, "sqs:DeleteMessageBatch": 250},
    )  # fmt: skip


def test_pages_time_and_dollars_scale_from_the_measured_per_page_figures() -> None:
    m = rebuild_model.model(measured(), articles=100_000, concurrency=50)
    assert m.pages == 250_000
    assert m.page_seconds == pytest.approx(0.02)
    # Listed and sent together at the measured 4 ms a page, slower than the sends alone would be.
    listing = 1000.0
    assert listing > 25_000 / 16 * rebuild_model.SQS_SEND_SECONDS
    assert m.enqueue_seconds == pytest.approx(listing)
    assert m.render_seconds == pytest.approx(250_000 * 0.02 / 50)
    assert m.seconds == pytest.approx(max(listing, 100.0))  # rendering overlaps listing
    assert m.needed_concurrency == 0  # listing alone is over ten minutes
    gb = cost.memory_sizes()["RenderFunction"] / 1024
    lambda_cost = 250_000 * 0.02 * gb * cost.LAMBDA_GB_SECOND + 25_000 * cost.LAMBDA_REQUEST
    assert m.dollars["Lambda (render, arm64)"] == pytest.approx(lambda_cost)
    assert m.dollars["SQS FIFO"] == pytest.approx((25_000 + 250_000 * 0.3) * cost.SQS_FIFO)
    assert m.dollars["S3 PUT (every page)"] == pytest.approx(250_000 * cost.S3_WRITE)
    assert m.dollars["DynamoDB reads"] == pytest.approx(250_000 * (3 * 4 + 1) * cost.DYNAMODB_READ_UNIT)
    assert math.isclose(m.total, sum(m.dollars.values()))


def test_the_concurrency_needed_fits_rendering_into_the_goal_once_listing_does() -> None:
    quick = Measured(**{**measured().__dict__, "listing_seconds": 0.5})
    m = rebuild_model.model(quick, articles=100_000, concurrency=10)
    assert m.needed_concurrency == math.ceil(250_000 * 0.02 / 600)


def test_sending_at_sqs_latency_bounds_a_listing_faster_than_it() -> None:
    instant = Measured(**{**measured().__dict__, "listing_seconds": 0.0})
    m = rebuild_model.model(instant, articles=100_000, concurrency=50)
    assert m.enqueue_seconds == pytest.approx(25_000 / 16 * rebuild_model.SQS_SEND_SECONDS)


def test_the_model_reads_the_render_queue_concurrency_from_the_template() -> None:
    assert rebuild_model.render_concurrency() >= 1

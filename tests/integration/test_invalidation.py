"""CloudFront invalidation on a monthly budget, against moto's CloudFront and the index table."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from broadsheet.adapters.cloudfront import CloudFrontInvalidator, coalesce
from broadsheet_dev.local.runtime import LocalStack

pytestmark = [pytest.mark.integration]


def distribution() -> str:
    cloudfront = boto3.client("cloudfront")
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"test-{datetime.now(UTC).timestamp()}",
            "Comment": "invalidation budget test",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": "site.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return str(created["Distribution"]["Id"])


def invalidated_paths(distribution_id: str) -> list[list[str]]:
    cloudfront = boto3.client("cloudfront")
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get(
        "Items", []
    )
    batches = []
    for item in listed:
        got = cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
        batches.append(sorted(got["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", [])))
    return sorted(batches)


def test_coalescing_turns_many_paths_into_one_wildcard() -> None:
    assert coalesce(["/b/*", "/a/*", "/b/*"], threshold=5) == ["/a/*", "/b/*"]
    assert coalesce([f"/articles/{n}/*" for n in range(6)], threshold=5) == ["/*"]


def test_invalidations_stop_when_the_month_budget_is_spent(stack: LocalStack) -> None:
    target = distribution()
    invalidator = CloudFrontInvalidator(
        boto3.client("cloudfront"),
        boto3.client("dynamodb"),
        distribution_id=target,
        table=stack.stack.refs["IndexTable"],
        budget=3,
        threshold=2,
    )
    month = datetime(2031, 1, 15, tzinfo=UTC)
    assert invalidator.invalidate(["/articles/a/*"], month) == 1
    assert invalidator.invalidate(["/articles/b/*", "/articles/c/*", "/articles/d/*"], month) == 1
    # Two more paths would make four: over the budget of three, so nothing is sent.
    assert invalidator.invalidate(["/articles/e/*", "/articles/f/*"], month) == 0
    assert invalidator.invalidate(["/articles/g/*"], month) == 1
    assert invalidated_paths(target) == sorted([["/articles/a/*"], ["/*"], ["/articles/g/*"]])
    # A new month starts a new budget.
    assert invalidator.invalidate(["/articles/h/*"], datetime(2031, 2, 1, tzinfo=UTC)) == 1

"""The boto3 clients of one container: created on first use (never at import), then shared by
every adapter of the container, which is what boto3's clients are made for (they are thread-safe).

The endpoint and credentials come from the environment, so the same code talks to AWS on Lambda
and to the local moto server elsewhere; `reset` forgets the clients after the environment moved.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3

if TYPE_CHECKING:
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_cloudfront_keyvaluestore import CloudFrontKeyValueStoreClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient


@lru_cache(maxsize=1)
def _session() -> boto3.Session:
    return boto3.Session()


@lru_cache(maxsize=1)
def s3() -> S3Client:
    """The container's S3 client."""
    return _session().client("s3")


@lru_cache(maxsize=1)
def dynamodb() -> DynamoDBClient:
    """The container's DynamoDB client."""
    return _session().client("dynamodb")


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    """The container's SQS client."""
    return _session().client("sqs")


@lru_cache(maxsize=1)
def scheduler() -> EventBridgeSchedulerClient:
    """The container's EventBridge Scheduler client."""
    return _session().client("scheduler")


@lru_cache(maxsize=1)
def cloudfront() -> CloudFrontClient:
    """The container's CloudFront client."""
    return _session().client("cloudfront")


@lru_cache(maxsize=1)
def keyvaluestore() -> CloudFrontKeyValueStoreClient:
    """The container's CloudFront KeyValueStore client."""
    return _session().client("cloudfront-keyvaluestore")


@lru_cache(maxsize=1)
def secretsmanager() -> SecretsManagerClient:
    """The container's Secrets Manager client."""
    return _session().client("secretsmanager")


def reset() -> None:
    """Forget every client, so the next use reads the environment again."""
    for factory in (_session, s3, dynamodb, sqs, scheduler, cloudfront, keyvaluestore, secretsmanager):
        factory.cache_clear()

"""Secrets Manager: the preview secret, read once into the settings that render with it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

from broadsheet.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def with_preview_secret(config: Settings, client: Callable[[], SecretsManagerClient]) -> Settings:
    """`config` holding the preview secret itself: as given, or read from its ARN (the client is
    made only then)."""
    if config.preview_secret.get_secret_value() or not config.preview_secret_arn:
        return config
    value = client().get_secret_value(SecretId=config.preview_secret_arn)["SecretString"]
    return config.model_copy(update={"preview_secret": SecretStr(value)})

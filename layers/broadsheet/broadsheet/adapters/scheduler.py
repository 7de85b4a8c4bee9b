"""EventBridge Scheduler: the one-time schedules that send an article's key back to ingest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from broadsheet.errors import TransientError
from broadsheet.schedule import NoScheduler, Scheduler, at_expression
from broadsheet.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_scheduler.type_defs import CreateScheduleInputTypeDef

_ATTEMPTS = 3


def scheduler_for(config: Settings, client: Callable[[], EventBridgeSchedulerClient]) -> Scheduler:
    """The deployment's scheduler: its schedule group, or nothing scheduled without one."""
    if not config.schedule_group:
        return NoScheduler()
    return EventBridgeScheduler(
        client(),
        group=config.schedule_group,
        role_arn=config.scheduler_role_arn,
        queue_arn=config.ingest_queue_arn,
    )


class EventBridgeScheduler:
    """Schedules in one EventBridge Scheduler group, each sending to the ingest queue once.

    The schedule runs at the second it names (no flexible window) with the role the template
    grants `sqs:SendMessage` on the ingest queue, and deletes itself after it has run.
    """

    def __init__(
        self, client: EventBridgeSchedulerClient, *, group: str, role_arn: str, queue_arn: str
    ) -> None:
        if not (group and role_arn and queue_arn):
            raise ValueError("scheduling needs a schedule group, a role ARN and the ingest queue ARN")
        self._client = client
        self._group = group
        self._role_arn = role_arn
        self._queue_arn = queue_arn

    def ensure(self, name: str, at: datetime, message: str) -> None:
        """Create schedule `name`, or update it if it exists (create-or-update, idempotent)."""
        request: CreateScheduleInputTypeDef = {
            "Name": name,
            "GroupName": self._group,
            "ScheduleExpression": at_expression(at),
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": self._queue_arn, "RoleArn": self._role_arn, "Input": message},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Description": f"Ingest again at {at.astimezone(UTC).isoformat()}",
        }
        # Create, or update what exists; the schedule may fire and delete itself in between.
        for _ in range(_ATTEMPTS):
            try:
                self._client.create_schedule(**request)
                return
            except ClientError as exc:
                if _code(exc) != "ConflictException":
                    raise _transient(f"creating schedule {name}", exc) from exc
            except BotoCoreError as exc:
                raise _transient(f"creating schedule {name}", exc) from exc
            try:
                self._client.update_schedule(**request)
                return
            except ClientError as exc:
                if _code(exc) != "ResourceNotFoundException":
                    raise _transient(f"updating schedule {name}", exc) from exc
            except BotoCoreError as exc:
                raise _transient(f"updating schedule {name}", exc) from exc
        raise TransientError(f"schedule {name} kept appearing and disappearing")

    def cancel(self, name: str) -> None:
        """Delete schedule `name` if it exists."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self._group)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise _transient(f"deleting schedule {name}", exc) from exc
        except BotoCoreError as exc:
            raise _transient(f"deleting schedule {name}", exc) from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _transient(doing: str, exc: Exception) -> TransientError:
    # A moment that passes while it is being scheduled is refused (ValidationException) like
    # any other failure: the retry finds the article live and needs no schedule.
    return TransientError(f"{doing} failed: {exc}")

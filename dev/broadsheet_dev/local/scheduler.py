"""The local stack's EventBridge Scheduler: what AWS does with the schedules ingest creates.

moto stores schedules but never runs them. A `SchedulePoller` reads the schedules of one group
from moto and, when a one-time schedule falls due, sends its target's input to its target queue
and then deletes it if it asks to be deleted after completion, as the service does. It runs on
the stack's clock, the one ingest reads: with a fixed clock nothing ever falls due.

It never spins: between polls it waits for the time until the next schedule is due (at most a
few seconds, so that schedules created meanwhile are seen) or until another poller does work
(ingest creates schedules), but looks no more than twice a second, however busy the pipeline.
A schedule that is not yet due is not pending work, so `wait_drained()` still drains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from broadsheet.schedule import parse_at
from broadsheet_dev.local.pollers import Activity, Poller

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sqs import SQSClient

# The longest wait between looks at the schedules when none is about to fall due, and the
# shortest between two looks prompted by other pollers' work.
MAX_WAIT = 5.0
MIN_INTERVAL = 0.5


@dataclass(frozen=True)
class Schedule:
    """What the poller needs of one schedule: when it runs and what it sends where."""

    name: str
    modified: datetime
    at: datetime | None
    queue_arn: str
    message: str
    delete_after: bool
    enabled: bool


def due(schedules: list[Schedule], now: datetime) -> tuple[list[Schedule], datetime | None]:
    """The enabled one-time schedules due at `now`, and when the next of the others is due."""
    ready = [s for s in schedules if s.enabled and s.at is not None and s.at <= now]
    later = [s.at for s in schedules if s.enabled and s.at is not None and s.at > now]
    return sorted(ready, key=lambda s: (s.at, s.name)), min(later, default=None)


class SchedulePoller(Poller):
    """Runs the one-time schedules of a group on moto when they fall due."""

    def __init__(
        self,
        name: str,
        activity: Activity,
        group: str,
        clock: Callable[[], datetime],
        *,
        max_wait: float = MAX_WAIT,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        super().__init__(name, activity)
        self.group = group
        self.clock = clock
        self.max_wait = max_wait
        self.min_interval = min_interval
        self.scheduler: EventBridgeSchedulerClient = boto3.client("scheduler")
        self.sqs: SQSClient = boto3.client("sqs")
        self.fired = 0
        self._wait = 0.0
        self._polled = 0.0
        self._known: dict[str, Schedule] = {}
        # Schedules that stay after they ran (ActionAfterCompletion NONE) must not run again.
        self._done: set[tuple[str, datetime]] = set()
        self._queue_urls: dict[str, str] = {}

    def poll_once(self) -> int:
        """Run every schedule that is due; return how many ran."""
        self.busy = False
        self._polled = time.monotonic()
        now = self.clock()
        ready, upcoming = due(self._schedules(), now)
        ready = [s for s in ready if (s.name, s.modified) not in self._done]
        if ready:
            self.busy = True
            try:
                for schedule in ready:
                    self._run_schedule(schedule)
            finally:
                self.busy = False
        self._wait = self.max_wait
        if upcoming is not None:
            self._wait = min(self.max_wait, max(0.0, (upcoming - self.clock()).total_seconds()))
        return len(ready)

    def idle_wait(self) -> None:
        """Sleep until the next schedule is due, new work happens elsewhere, or the stack stops."""
        deadline = time.monotonic() + self._wait
        earliest = self._polled + self.min_interval
        with self.activity.changed:
            # Other pollers notify after every empty poll: only real work (a new tick) ends the
            # wait early, and not before the minimum interval since the last look.
            while not self.stopping.is_set():
                moment = time.monotonic()
                worked = self.activity.tick != self.quiet_since
                if moment >= deadline or (worked and moment >= earliest):
                    return
                self.activity.changed.wait((min(deadline, earliest) if worked else deadline) - moment)

    def _schedules(self) -> list[Schedule]:
        found: list[Schedule] = []
        names: set[str] = set()
        for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.group):
            for summary in page.get("Schedules", []):
                name, modified = summary.get("Name", ""), summary.get("LastModificationDate")
                names.add(name)
                known = self._known.get(name)
                if known is None or known.modified != modified:
                    fetched = self._fetch(name)
                    if fetched is None:
                        continue
                    known = self._known[name] = fetched
                found.append(known)
        for gone in set(self._known) - names:
            del self._known[gone]
        return found

    def _fetch(self, name: str) -> Schedule | None:
        try:
            raw: Any = self.scheduler.get_schedule(Name=name, GroupName=self.group)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        target = raw.get("Target", {})
        return Schedule(
            name=name,
            modified=raw["LastModificationDate"],
            at=parse_at(raw.get("ScheduleExpression", "")),
            queue_arn=target.get("Arn", ""),
            message=target.get("Input", ""),
            delete_after=raw.get("ActionAfterCompletion") == "DELETE",
            enabled=raw.get("State", "ENABLED") == "ENABLED",
        )

    def _run_schedule(self, schedule: Schedule) -> None:
        self.sqs.send_message(QueueUrl=self._queue_url(schedule.queue_arn), MessageBody=schedule.message)
        self.fired += 1
        if not schedule.delete_after:
            self._done.add((schedule.name, schedule.modified))
            return
        # Ingest may have moved the schedule to a new time since it was read: that one stays.
        current = self._fetch(schedule.name)
        if current is not None and current.modified == schedule.modified:
            try:
                self.scheduler.delete_schedule(Name=schedule.name, GroupName=self.group)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
        self._known.pop(schedule.name, None)

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            # arn:aws:sqs:<region>:<account>:<name>
            account, name = arn.split(":")[4:6]
            self._queue_urls[arn] = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        return self._queue_urls[arn]

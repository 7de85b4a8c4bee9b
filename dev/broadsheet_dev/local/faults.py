"""Fault injection for the local stack: failed and throttled AWS calls, lost answers, killed invocations.

A test tool that lives next to the stack it breaks; the pipeline never imports it. Attached to a
running `LocalStack`, a `FaultInjector` wraps each poller's handler, so that it knows which
function an AWS call is made for, and registers botocore hooks on the clients the handlers use
(the container's shared clients, `broadsheet.adapters.clients`). Calls made outside a handler (tests, pollers,
the offline build) are never touched.

Each armed `Fault` fires once, on its first matching call after `after` others went through, and
is then spent: faults are transient by construction, so the pipeline's retries must end in the
same site and index as if nothing had failed. Errors are raised as the SDK raises them once its
own retries are exhausted (a `ClientError` with the service's code, or a connection error).
"""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError

from broadsheet.adapters import clients

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.model import OperationModel

    from broadsheet_dev.local.pollers import Handler
    from broadsheet_dev.local.runtime import LocalStack

_HOOK_ID = "broadsheet-faults"
# The function whose invocation is running: a context variable, so that threads an invocation
# starts in a copy of its context (render's pages side by side) are hit as the invocation.
_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "broadsheet_fault_function", default=None
)
_S3_WRITES = frozenset({"PutObject", "DeleteObject"})
_INDEX_WRITES = frozenset({"TransactWriteItems", "PutItem", "DeleteItem", "UpdateItem"})


class Kind(Enum):
    """What goes wrong."""

    S3_ERROR = "s3-error"  # an S3 call fails with 500 InternalError; nothing was applied
    S3_THROTTLE = "s3-throttle"  # an S3 call is refused with 503 SlowDown
    DYNAMODB_ERROR = "dynamodb-error"  # a DynamoDB call fails with 500 InternalServerError
    DYNAMODB_THROTTLE = "dynamodb-throttle"  # a DynamoDB call is throttled
    LOST_RESPONSE = "lost-response"  # a write is applied, then the answer times out
    INGEST_CRASH = "ingest-crash"  # ingest dies right after an index write
    PLAN_CRASH = "plan-crash"  # plan dies after computing its pages, before queueing their renders
    RENDER_CRASH = "render-crash"  # render dies after writing a page, its batch half done


# The functions each kind can hit: where the service it breaks is called.
TARGETS: dict[Kind, tuple[str, ...]] = {
    Kind.S3_ERROR: ("ingest", "render"),
    Kind.S3_THROTTLE: ("ingest", "render"),
    Kind.DYNAMODB_ERROR: ("ingest", "plan", "render"),
    Kind.DYNAMODB_THROTTLE: ("ingest", "plan", "render"),
    Kind.LOST_RESPONSE: ("ingest", "render"),
    Kind.INGEST_CRASH: ("ingest",),
    Kind.PLAN_CRASH: ("plan",),
    Kind.RENDER_CRASH: ("render",),
}


@dataclass(frozen=True)
class Fault:
    """One fault: what goes wrong, in which function, after how many matching calls went through."""

    kind: Kind
    function: str
    after: int = 0

    def matches(self, function: str, service: str, operation: str, applied: bool) -> bool:
        """Whether a call (before it is sent, or once `applied`) is one this fault breaks."""
        if function != self.function:
            return False
        kind = self.kind
        if kind in {Kind.S3_ERROR, Kind.S3_THROTTLE}:
            return not applied and service == "s3"
        if kind in {Kind.DYNAMODB_ERROR, Kind.DYNAMODB_THROTTLE}:
            return not applied and service == "dynamodb"
        if kind is Kind.PLAN_CRASH:
            return not applied and service == "sqs" and operation == "SendMessageBatch"
        if kind is Kind.RENDER_CRASH:
            return applied and service == "s3" and operation in _S3_WRITES
        index_write = applied and service == "dynamodb" and operation in _INDEX_WRITES
        if kind is Kind.INGEST_CRASH:
            return index_write
        # LOST_RESPONSE: any write, once applied.
        return index_write or (applied and service == "s3" and operation in _S3_WRITES)


class InvocationKilled(BaseException):
    """The invocation ends here, as a timeout or an out-of-memory kill ends it.

    A BaseException, so that no handler code catches it on the way out (the batch processors
    catch Exception per record); the handler wrapper turns it into a crashed invocation.
    """


class CrashedInvocation(RuntimeError):
    """What the poller sees of a killed invocation: the whole batch is retried."""


@dataclass
class _Armed:
    fault: Fault
    remaining: int


class FaultInjector:
    """Arms faults in a running local stack and counts those that fired."""

    def __init__(self) -> None:
        self.fired: Counter[Kind] = Counter()
        self._armed: list[_Armed] = []
        self._lock = threading.Lock()
        self._handlers: dict[str, Handler] = {}
        self._clients: list[BaseClient] = []
        self._stack: LocalStack | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def attach(self, stack: LocalStack) -> None:
        """Wrap the stack's function pollers and hook the clients their handlers use."""
        self._stack = stack
        for poller in stack.pollers:
            if poller.name.endswith("Function"):
                self._handlers[poller.name] = poller.handler
                poller.handler = self._wrap(poller.name.removesuffix("Function").lower(), poller.handler)
        self._clients = handler_clients()
        for client in self._clients:
            client.meta.events.register("before-call", self._before_call, unique_id=f"{_HOOK_ID}-before")
            client.meta.events.register("after-call", self._after_call, unique_id=f"{_HOOK_ID}-after")

    def detach(self) -> None:
        """Undo `attach`: the stack runs as before, and nothing stays armed."""
        self.disarm()
        for client in self._clients:
            client.meta.events.unregister("before-call", unique_id=f"{_HOOK_ID}-before")
            client.meta.events.unregister("after-call", unique_id=f"{_HOOK_ID}-after")
        self._clients = []
        if self._stack is not None:
            for poller in self._stack.pollers:
                if poller.name in self._handlers:
                    poller.handler = self._handlers[poller.name]
        self._handlers = {}
        self._stack = None

    # -- arming ----------------------------------------------------------------------------

    def arm(self, fault: Fault) -> None:
        """Arm one fault; it fires once, then is spent."""
        if fault.function not in TARGETS[fault.kind]:
            raise ValueError(f"{fault.kind.value} cannot happen in {fault.function}")
        with self._lock:
            self._armed.append(_Armed(fault, fault.after))

    def disarm(self) -> list[Fault]:
        """Disarm every fault that has not fired; return them."""
        with self._lock:
            unfired = [armed.fault for armed in self._armed]
            self._armed = []
        return unfired

    # -- the hooks -------------------------------------------------------------------------

    def _wrap(self, function: str, handler: Handler) -> Handler:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            token = _FUNCTION.set(function)
            try:
                return handler(event, context)
            except InvocationKilled as killed:
                raise CrashedInvocation(f"{function}: {killed}") from None
            finally:
                _FUNCTION.reset(token)

        return invoke

    def _before_call(self, model: OperationModel, **_: Any) -> None:
        self._maybe_fire(model, applied=False)

    def _after_call(self, model: OperationModel, **_: Any) -> None:
        self._maybe_fire(model, applied=True)

    def _maybe_fire(self, model: OperationModel, *, applied: bool) -> None:
        function = _FUNCTION.get()
        if function is None:
            return
        service, operation = model.service_model.service_name, model.name
        with self._lock:
            fault = self._take(function, service, operation, applied)
            if fault is None:
                return
            self.fired[fault.kind] += 1
        raise _failure(fault, operation)

    def _take(self, function: str, service: str, operation: str, applied: bool) -> Fault | None:
        for armed in self._armed:
            if armed.fault.matches(function, service, operation, applied):
                if armed.remaining == 0:
                    self._armed.remove(armed)
                    return armed.fault
                armed.remaining -= 1
        return None


def handler_clients() -> list[BaseClient]:
    """The boto3 clients the handlers' adapters share (one per service in a container) whose
    calls faults may break: DynamoDB, S3 and SQS."""
    return [clients.dynamodb(), clients.s3(), clients.sqs()]


def _failure(fault: Fault, operation: str) -> BaseException:
    """The exception a call sees when `fault` hits it."""
    kind = fault.kind
    if kind in {Kind.INGEST_CRASH, Kind.PLAN_CRASH, Kind.RENDER_CRASH}:
        return InvocationKilled(f"killed by an injected fault ({kind.value}) at {operation}")
    if kind is Kind.LOST_RESPONSE:
        return ReadTimeoutError(endpoint_url=f"injected fault: the answer to {operation} was lost")
    if kind is Kind.DYNAMODB_THROTTLE and operation == "TransactWriteItems":
        # DynamoDB reports a throttled transaction as cancelled, with a reason per item.
        return _client_error(
            operation, "TransactionCanceledException", 400, reasons=[{"Code": "ThrottlingError"}]
        )
    code, status = {
        Kind.S3_ERROR: ("InternalError", 500),
        Kind.S3_THROTTLE: ("SlowDown", 503),
        Kind.DYNAMODB_ERROR: ("InternalServerError", 500),
        Kind.DYNAMODB_THROTTLE: ("ProvisionedThroughputExceededException", 400),
    }[kind]
    return _client_error(operation, code, status)


def _client_error(
    operation: str, code: str, status: int, reasons: list[dict[str, str]] | None = None
) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": "injected fault"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, operation)  # type: ignore[arg-type]

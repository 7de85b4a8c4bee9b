"""The observability objects: the X-Ray SDK is loaded only when tracing is asked for."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from broadsheet.observability import Untraced

_PROBE = """
import sys
from broadsheet.observability import tracer
print(type(tracer).__name__, "aws_xray_sdk.core" in sys.modules)
"""


def _tracer_in_fresh_process(tracing: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "BROADSHEET_TRACING"}
    if tracing is not None:
        env["BROADSHEET_TRACING"] = tracing
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize("tracing", [None, "false"])
def test_the_xray_sdk_is_not_imported_unless_tracing_is_on(tracing: str | None) -> None:
    assert _tracer_in_fresh_process(tracing) == "Untraced False"


def test_tracing_on_uses_the_powertools_tracer() -> None:
    assert _tracer_in_fresh_process("true") == "Tracer True"


def test_an_untraced_handler_is_the_handler_itself() -> None:
    def handler(event: dict[str, object], context: object) -> str:
        return "done"

    assert Untraced().capture_lambda_handler(handler) is handler

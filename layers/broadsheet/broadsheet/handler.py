"""A Lambda handler made at its first invocation, so that importing a function's module costs
next to nothing.

Lambda imports a function's module once per container, and the import is on the cold start's
path. A handler module that imports its stage at the top pays at import for Powertools (its batch
utilities bring in asyncio and every event class), pydantic and the models, the settings and the
SDK. Here `app.py` names a `build` function that does those imports and returns the decorated
handler; `FirstCall(build)` is what Lambda calls, and it builds the handler on the first event
and reuses it for the rest of the container's life. What is imported is unchanged, only when;
`load()` builds it without an event (the import-graph test reads what a handler loads that way).

This module imports nothing but the standard library's typing, so that it stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]


class FirstCall:
    """`app.lambda_handler`: the handler `build` returns, built when first called."""

    def __init__(self, build: Callable[[], Handler]) -> None:
        self._build = build
        self._handler: Handler | None = None

    def load(self) -> Handler:
        """The handler, built now if it was not yet."""
        if self._handler is None:
            self._handler = self._build()
        return self._handler

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        return self.load()(event, context)

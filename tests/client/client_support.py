"""Transport wrappers that break the network in controlled ways (no mocks: the
server behind them is real; only the link misbehaves)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from client_sdk import TransportError


class Wrapper:
    def __init__(self, inner: Any):
        self.inner = inner
        self.posts: list[tuple[str, Any]] = []
        self.gets: list[str] = []

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        self.posts.append((path, body))
        return self.inner.post(path, body, token)

    def get(self, path: str, token: str | None = None, params: Any = None) -> Any:
        self.gets.append(path)
        return self.inner.get(path, token, params)


class DropResponses(Wrapper):
    """The request reaches the server and is committed; the answer is lost on the way
    back, ``drops`` times, for requests to ``path`` that carry changes (when
    ``with_changes``) — a phone losing signal at the worst moment."""

    def __init__(self, inner: Any, drops: int = 1, path: str = "/sync",
                 with_changes: bool = True, after: Callable[[], None] | None = None):
        super().__init__(inner)
        self.drops, self.path, self.with_changes, self.after = drops, path, with_changes, after
        self.dropped = 0

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        answer = super().post(path, body, token)
        if (path == self.path and self.dropped < self.drops
                and (not self.with_changes or body.get("changes"))):
            assert answer[0] == 200, answer
            self.dropped += 1
            if self.after is not None:
                self.after()
            raise TransportError("connection reset by peer (answer dropped by the test)")
        return answer


class Inject(Wrapper):
    """Answer the next requests with canned error answers (429, 503, ...) without
    reaching the server; then pass through."""

    def __init__(self, inner: Any, answers: list[tuple[int, dict[str, str], Any]]):
        super().__init__(inner)
        self.answers = list(answers)
        self.injected = 0

    def _next(self) -> Any:
        if self.answers:
            self.injected += 1
            return self.answers.pop(0)
        return None

    def post(self, path: str, body: Any, token: str | None = None) -> Any:
        canned = self._next()
        if canned is not None:
            self.posts.append((path, body))
            return canned
        return super().post(path, body, token)

    def get(self, path: str, token: str | None = None, params: Any = None) -> Any:
        canned = self._next()
        if canned is not None:
            self.gets.append(path)
            return canned
        return super().get(path, token, params)


class Rewrite(Wrapper):
    """Pass requests through and let ``fn(path, answer_body)`` change GET answers
    (a man in the middle, or a server that lies)."""

    def __init__(self, inner: Any, fn: Callable[[str, Any], Any]):
        super().__init__(inner)
        self.fn = fn

    def get(self, path: str, token: str | None = None, params: Any = None) -> Any:
        status, headers, body = super().get(path, token, params)
        return status, headers, self.fn(path, copy.deepcopy(body))


def error(status: int, code: str, retry_after: str | None = None
          ) -> tuple[int, dict[str, str], dict]:
    headers = {"content-type": "application/json"}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    return status, headers, {"error": {"code": code, "message": f"{code} (injected)"}}

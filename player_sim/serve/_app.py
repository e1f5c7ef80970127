"""The ASGI shell around a :class:`~._lab.Lab`: Starlette routes, body caps, the control API.

Backend paths all go to :meth:`Lab.handle`; control calls live under
``/_player_sim/`` (:data:`~._lab.CONTROL_PREFIX`) and need
``Authorization: Bearer <control token>`` when the lab has one. Every handler
runs the lab synchronously between two awaits, so one request's effects are
never interleaved with another's. Waiting (``wait-for``) uses anyio, so the app
runs under Hypercorn's trio worker (what ``player-sim serve`` uses) or any
asyncio server.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, Final

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .._errors import ConfigError
from ..scenario import parse_duration
from ..traffic import WireFormatError, load_json_object
from ._lab import CONTROL_PREFIX, Lab, har_document, package_version
from ._openapi import CONTROL_OPERATIONS, openapi_document

__all__ = ["DEFAULT_MAX_BODY", "MAX_WAIT", "Changes", "build_app", "build_bare_app"]

#: Request bodies larger than this are refused (413) unread.
DEFAULT_MAX_BODY: Final = 64 * 1024
#: The longest a ``wait-for`` may wait, in seconds.
MAX_WAIT: Final = 600.0
_ALL_METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


class Changes:
    """Wakes waiters whenever the lab's trace may have grown."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self, seconds: float) -> None:
        """Until the next change, at most ``seconds``."""
        event = self._event
        with anyio.move_on_after(seconds):
            await event.wait()


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or ``None`` when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _seconds(value: Any, name: str) -> float:
    """A duration given as seconds or as text (``"2h"``, ``"90s"``)."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} is a number of seconds or a duration like 2h, not {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as err:
            raise ConfigError(f"{name}: {err}") from None
    raise ConfigError(f"{name} is a number of seconds or a duration like 2h, not {value!r}")


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name} is text, not {value!r}")
    return value


def build_app(lab: Lab, *, max_body: int = DEFAULT_MAX_BODY,
              changes: Changes | None = None) -> Starlette:
    """The ASGI app serving ``lab``'s backends and its control API."""
    changes = changes if changes is not None else Changes()
    token = lab.control_token

    async def backend(request: Request) -> Response:
        path = request.url.path
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await _read_body(request, max_body)
        if body is None:
            answer = lab.refuse(request.method, path, headers, 413,
                                f"the request body is over {max_body} bytes",
                                url=str(request.url))
        else:
            client = request.client.host if request.client is not None else None
            answer = lab.handle(request.method, path, headers, body, client=client,
                                url=str(request.url))
        changes.notify()
        if answer.delay:
            await anyio.sleep(answer.delay)
        if answer.cut is not None:
            return _CutConnection(hold=answer.cut == "lost")
        return Response(answer.body, answer.status, media_type=answer.content_type)

    Handler = Callable[[Request, dict[str, Any]], Awaitable[Any]]

    def control(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if token is not None:
                given = request.headers.get("authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    return JSONResponse({"error": "the control API needs "
                                                  "'Authorization: Bearer <control token>'"},
                                        401)
            body: dict[str, Any] = dict(request.query_params)
            if request.method == "POST":
                raw = await _read_body(request, max_body)
                if raw is None:
                    return JSONResponse({"error": f"a control body is at most {max_body} "
                                                  "bytes"}, 413)
                try:
                    body.update(load_json_object(raw))
                except WireFormatError as err:
                    return JSONResponse({"error": err.message}, 400)
            try:
                result = await handler(request, body)
            except (ConfigError, KeyError) as err:
                return JSONResponse({"error": str(err).strip("'\"")}, 400)
            except TimeoutError as err:
                return JSONResponse({"error": str(err)}, 408)
            changes.notify()
            if isinstance(result, Response):
                return result
            return JSONResponse(result)
        return endpoint

    async def fail_next(_: Request, b: dict[str, Any]) -> Any:
        endpoint = b.get("endpoint")
        if not isinstance(endpoint, str):
            raise ConfigError("fail-next needs an endpoint, e.g. heartbeat")
        count = b.get("count", 1)
        status = b.get("http_status")
        lab.fail_next(endpoint, device=_optional_str(b, "device"),
                      count=int(count) if isinstance(count, str) and count.isdigit() else count,
                      code=b.get("code"), http_status=int(status) if isinstance(status, str)
                      and status.isdigit() else status,
                      message=str(b.get("message", "")),
                      malformed=b.get("malformed") in (True, "true", "1"),
                      lost=b.get("lost") in (True, "true", "1"),
                      reset=b.get("reset") in (True, "true", "1"))
        return {"planned": endpoint}

    async def outage(_: Request, b: dict[str, Any]) -> Any:
        link = b.get("link")
        if not isinstance(link, str):
            raise ConfigError("outage needs a link: ssm, license, ott or ovp")
        lab.outage(link, _seconds(b.get("seconds"), "seconds"))
        return {"down": link}

    async def latency(_: Request, b: dict[str, Any]) -> Any:
        link = b.get("link")
        if not isinstance(link, str):
            raise ConfigError("latency needs a link: ssm, license, ott or ovp")
        lab.latency(link, _seconds(b.get("extra"), "extra"), _seconds(b.get("seconds"),
                                                                       "seconds"))
        return {"slow": link}

    async def kill(_: Request, b: dict[str, Any]) -> Any:
        return {"killed": lab.kill(device=_optional_str(b, "device"),
                                   account=_optional_str(b, "account"))}

    async def advance(_: Request, b: dict[str, Any]) -> Any:
        return {"now": lab.advance(_seconds(b.get("seconds"), "seconds"))}

    async def sessions(_: Request, b: dict[str, Any]) -> Any:
        return lab.sessions(_optional_str(b, "account"))

    async def zombies(_: Request, b: dict[str, Any]) -> Any:
        return lab.zombies(_optional_str(b, "account"))

    async def wait_for(_: Request, b: dict[str, Any]) -> Any:
        kind = b.get("kind")
        if not isinstance(kind, str):
            raise ConfigError("wait-for needs a record kind, e.g. ssm_session_created")
        timeout = min(_seconds(b.get("timeout", 10.0), "timeout"), MAX_WAIT)
        since = b.get("since", 0)
        since = int(since) if isinstance(since, str) and since.isdigit() else since
        if isinstance(since, bool) or not isinstance(since, int):
            raise ConfigError(f"since is a trace line number, not {since!r}")
        deadline = anyio.current_time() + timeout
        while True:
            found = lab.find(kind, device=_optional_str(b, "device"),
                             after=_optional_str(b, "after"), since=since,
                             call=_optional_str(b, "call"))
            if found is not None:
                line, record = found
                return {"line": line, "record": record.to_json()}
            left = deadline - anyio.current_time()
            if left <= 0:
                raise TimeoutError(f"no {kind} record within {timeout:g}s")
            await changes.wait(min(left, 0.25))

    async def verdict(_: Request, b: dict[str, Any]) -> Any:
        rules = b.get("rules")
        if isinstance(rules, str):
            rules = [r for r in rules.split(",") if r]
        if rules is not None and not (isinstance(rules, list)
                                      and all(isinstance(r, str) for r in rules)):
            raise ConfigError("rules is a list of rule ids")
        return lab.verdict(rules)

    async def reset(_: Request, __: dict[str, Any]) -> Any:
        lab.reset()
        return {"now": lab.world.now}

    async def trace(_: Request, __: dict[str, Any]) -> Any:
        lab.sync()
        return PlainTextResponse(lab.trace.to_jsonl(), media_type="application/x-ndjson")

    async def har(_: Request, __: dict[str, Any]) -> Any:
        return har_document(lab)

    async def status(_: Request, __: dict[str, Any]) -> Any:
        lab.sync()
        return {"now": lab.world.now, "records": len(lab.world.trace),
                "exchanges": len(lab.exchanges)}

    async def openapi(_: Request, __: dict[str, Any]) -> Any:
        return openapi_document(CONTROL_PREFIX, package_version())

    handlers: dict[str, Handler] = {
        "fail-next": fail_next, "outage": outage, "latency": latency, "kill": kill,
        "advance": advance, "sessions": sessions, "zombies": zombies, "wait-for": wait_for,
        "verdict": verdict, "reset": reset, "trace": trace, "har": har, "status": status,
        "openapi.json": openapi,
    }
    if set(handlers) != set(CONTROL_OPERATIONS):  # one table routes and describes them
        raise TypeError(f"control handlers {sorted(handlers)} must be the operations "
                        f"{sorted(CONTROL_OPERATIONS)}")
    routes = [Route(f"{CONTROL_PREFIX}{name}", control(handlers[name]),
                    methods=list(op.methods)) for name, op in CONTROL_OPERATIONS.items()]
    routes.append(Route("/{path:path}", backend, methods=list(_ALL_METHODS)))
    return Starlette(routes=routes)


#: The longest a lost answer holds its connection open (a device gives up sooner).
LOST_ANSWER_HOLD: Final = 120.0


class _ConnectionCut(Exception):
    """Raised once an answer has started, to make the server close the connection."""


class _CutConnection(Response):
    """No answer: the connection is closed mid-answer (the device sees a broken or reset
    connection). ``hold``: first wait until the device gives up (it disconnects) or
    :data:`LOST_ANSWER_HOLD` passes, as a lost answer does."""

    def __init__(self, *, hold: bool) -> None:
        super().__init__(b"", 200)
        self.hold = hold

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.hold:
            with anyio.move_on_after(LOST_ANSWER_HOLD):
                while (await receive())["type"] != "http.disconnect":
                    pass
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"64")]})
        raise _ConnectionCut("the planned fault cuts this connection")


def build_bare_app() -> Starlette:
    """The same stack answering a constant: the floor a benchmark compares with."""
    body = b'{"sessionToken":"constant"}'

    async def constant(_: Request) -> Response:
        return Response(body, 200, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", constant, methods=list(_ALL_METHODS))])

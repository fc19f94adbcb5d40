"""``/__test__/`` endpoints: the Python API of ``LookalikeServer`` over HTTP.

For users in another process (the end-to-end test runs the look-alike next to a real Home
Assistant; the demo script drives it). Plain JSON in and out; errors are 400 ``{"error": ...}``.
These paths are never recorded, challenged or failed on purpose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .server import LookalikeServer

type _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError as err:
        raise web.HTTPBadRequest(text=f"body is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _guarded(handler: _Handler) -> _Handler:
    """Turn the server's ValueErrors (unknown shape, bad type) into 400 JSON answers."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ValueError as err:
            return web.json_response({"error": str(err)}, status=400)

    return wrapper


def add_control_routes(app: web.Application, server: LookalikeServer) -> None:
    """Register the control endpoints on ``app``."""

    async def state(request: web.Request) -> web.StreamResponse:
        return web.json_response(server.state())

    async def configure(request: web.Request) -> web.StreamResponse:
        server.configure(**await _body(request))
        return web.json_response(server.state())

    async def get_usage(request: web.Request) -> web.StreamResponse:
        org = request.query.get("org_uuid")
        return web.json_response(server.usage_for(org) if org else server.usage_payload)

    async def set_usage(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        if "payload" not in data:
            raise ValueError('send {"payload": <usage JSON>, "org_uuid": optional}')
        server.set_usage(data["payload"], data.get("org_uuid"))
        return web.json_response({"ok": True})

    async def reset(request: web.Request) -> web.StreamResponse:
        server.reset()
        return web.json_response(server.state())

    async def expire_sessions(request: web.Request) -> web.StreamResponse:
        server.expire_sessions()
        return web.json_response({"ok": True})

    async def add_session_key(request: web.Request) -> web.StreamResponse:
        key = (await _body(request)).get("session_key")
        if not isinstance(key, str) or not key:
            raise ValueError('send {"session_key": "<key>"}')
        server.add_session_key(key)
        return web.json_response({"ok": True})

    async def login_code(request: web.Request) -> web.StreamResponse:
        return web.json_response({"code": server.issued_code(request.query.get("email", ""))})

    async def login_link(request: web.Request) -> web.StreamResponse:
        return web.json_response({"link": server.mailed_link(request.query.get("email", ""))})

    async def link_code(request: web.Request) -> web.StreamResponse:
        code = server.link_page_code(request.query.get("email", ""))
        return web.json_response({"code": code})

    async def approve_logins(request: web.Request) -> web.StreamResponse:
        return web.json_response({"approved": server.approve_pending_logins()})

    async def requests(request: web.Request) -> web.StreamResponse:
        records = list(server.requests)
        path = request.query.get("path")
        if path:
            records = [record for record in records if record.path == path]
        return web.json_response(
            {"count": len(records), "requests": [record.as_json() for record in records]}
        )

    async def clear_requests(request: web.Request) -> web.StreamResponse:
        server.requests.clear()
        return web.json_response({"ok": True})

    async def clearance(request: web.Request) -> web.StreamResponse:
        data = await _body(request)
        user_agent, ttl = data.get("user_agent"), data.get("ttl")
        if not isinstance(user_agent, str):
            raise ValueError('send {"user_agent": "...", "ttl": optional seconds}')
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
            raise ValueError("ttl must be a number of seconds")
        return web.json_response({"cf_clearance": server.issue_clearance(user_agent, ttl)})

    routes: list[tuple[str, str, _Handler]] = [
        ("GET", "state", state),
        ("POST", "configure", configure),
        ("GET", "usage", get_usage),
        ("POST", "usage", set_usage),
        ("POST", "reset", reset),
        ("POST", "expire_sessions", expire_sessions),
        ("POST", "session_keys", add_session_key),
        ("GET", "login_code", login_code),
        ("GET", "login_link", login_link),
        ("GET", "link_code", link_code),
        ("POST", "approve_pending_logins", approve_logins),
        ("GET", "requests", requests),
        ("POST", "requests/clear", clear_requests),
        ("POST", "clearance", clearance),
    ]
    for method, name, handler in routes:
        app.router.add_route(method, f"/__test__/{name}", _guarded(handler))

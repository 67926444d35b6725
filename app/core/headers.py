"""Security headers on every response, the service's own answers and its errors alike.

The API answers JSON that no browser should sniff, frame, cache or pass on in a Referer; the
documentation pages set their own Content-Security-Policy (app/docs.py), which is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope, Send

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# For responses that did not choose a policy: an API answer loads nothing and is never framed.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"
# Documentation assets are static files the browser may keep; everything else holds data.
CACHEABLE_PREFIX = "/docs/assets/"


def api_headers() -> dict[str, str]:
    """The headers of an API answer, for responses sent outside this middleware (500s)."""
    return {**ALWAYS, "Content-Security-Policy": DEFAULT_CSP, "Cache-Control": "no-store"}


def secure_headers(scope: Scope, send: Send) -> Send:
    """`send` with the security headers put on the response's start."""
    cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIX)

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            headers = MutableHeaders(scope=message)
            for name, value in ALWAYS.items():
                headers[name] = value
            if not cacheable:
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = DEFAULT_CSP
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
        await send(message)

    return send_with_headers

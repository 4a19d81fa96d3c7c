"""A small ASGI middleware in front of Gradio's routes.

- A request that changes something (anything but GET/HEAD/OPTIONS) and carries an
  ``Origin`` header from another site is refused (403): a page elsewhere cannot make a
  visitor's browser ask questions, vote or upload here. Clients without ``Origin``
  (gradio_client, curl) are not browsers acting for another site and pass.
- Gradio's upload route (the chat has no file inputs) takes only ``multipart/form-data``
  and at most ``upload_bytes`` (Content-Length checked before the body is read; Gradio's own
  ``max_file_size`` is set to the same limit for bodies without a length).
- Every response may not be framed by another page (``X-Frame-Options: DENY``, CSP
  ``frame-ancestors 'none'``), and none but static assets (scripts, styles, fonts, images) may be
  stored by the browser (``Cache-Control: no-store``): the chat page and Gradio's API answers can
  show internal text to a logged-in reader. Headers a route set itself are kept.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from assistant.web.pages import NO_STORE

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CACHEABLE = ("text/css", "text/javascript", "application/javascript", "font/", "image/")


class RequestGuard:
    def __init__(self, app, upload_bytes: int):
        self.app = app
        self.upload_bytes = upload_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if origin is not None and (method not in SAFE_METHODS or scope["type"] == "websocket"):
            if urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
                return await self._refuse(scope, send, 403, "requests from another site are not accepted")
        if scope["type"] == "http" and scope.get("path", "").rstrip("/").endswith("/upload") and method == "POST":
            if not headers.get("content-type", "").lower().startswith("multipart/form-data"):
                return await self._refuse(scope, send, 415, "uploads must be multipart/form-data")
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > self.upload_bytes:
                return await self._refuse(scope, send, 413, f"upload larger than {self.upload_bytes} bytes "
                                                            "(ASSISTANT_UPLOAD_BYTES)")
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": protective_headers(list(message.get("headers", [])))}
            await send(message)

        return await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(scope, send, status: int, message: str):
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        body = message.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def protective_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with the framing and caching headers added where the route set none."""
    present = {k.lower(): v for k, v in headers}
    added = []
    if b"x-frame-options" not in present:
        added.append((b"x-frame-options", NO_STORE["X-Frame-Options"].encode()))
    if b"content-security-policy" not in present:
        added.append((b"content-security-policy", b"frame-ancestors 'none'"))
    kind = present.get(b"content-type", b"").decode("latin-1").lower()
    if b"cache-control" not in present and not kind.startswith(CACHEABLE):
        added.append((b"cache-control", NO_STORE["Cache-Control"].encode()))
    return headers + added

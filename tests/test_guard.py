"""The request guard in front of every route: bodies bounded before the application reads them."""
import asyncio

from assistant.web.guard import RequestGuard

MB = 1024 * 1024


class Reader:
    """An application that reads the whole body, then answers 200 with the number of bytes it got."""

    def __init__(self):
        self.got = None

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionError("client went away")
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.got = len(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def call(guard, path, headers, chunks):
    """Send ``chunks`` as the body; return (status, bytes the client was asked for)."""
    scope = {"type": "http", "method": "POST", "path": path,
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    sent, status = [0], []
    pending = list(chunks)

    async def receive():
        chunk = pending.pop(0) if pending else b""
        sent[0] += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    asyncio.run(guard(scope, receive, send))
    return status[0], sent[0]


def guard(app):
    return RequestGuard(app, upload_bytes=1 * MB, document_bytes=20 * MB, request_bytes=2 * MB)


def test_a_declared_200_mb_event_body_is_refused_before_it_is_read():
    app = Reader()
    status, read = call(guard(app), "/gradio_api/call/ask", {"content-length": str(200 * MB)}, [b"x" * 1024])
    assert status == 413 and read == 0 and app.got is None


def test_a_body_without_a_length_is_counted_and_refused_past_the_limit():
    app = Reader()
    status, read = call(guard(app), "/gradio_api/call/ask", {}, [b"x" * MB] * 5)
    assert status == 413 and app.got is None and read <= 3 * MB        # it stopped reading
    app = Reader()
    assert call(guard(app), "/gradio_api/call/ask", {}, [b"x" * 1000] * 3)[0] == 200 and app.got == 3000


def test_an_upload_without_a_length_is_refused_and_reaches_nothing():
    app = Reader()
    status, read = call(guard(app), "/gradio_api/upload", {"content-type": "multipart/form-data; boundary=b"},
                        [b"x" * MB] * 20)
    assert status == 411 and read == 0 and app.got is None


def test_the_administration_page_takes_a_document_of_its_own_limit():
    app = Reader()
    assert call(guard(app), "/admin/dokument", {"content-length": str(5 * MB)}, [b"x" * 5 * MB])[0] == 200
    assert call(guard(Reader()), "/login", {"content-length": str(5 * MB)}, [b"x" * 5 * MB])[0] == 413


def test_another_site_may_not_read_an_answer_even_where_the_application_allows_it():
    """Gradio answers loopback origins with CORS headers and credentials; a page on another port could
    then read the chat's answers with the visitor's cookie. The guard takes those headers off."""
    async def cors_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"access-control-allow-origin", b"http://localhost:9999"), (b"access-control-allow-credentials", b"true"),
            (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    def get(method, origin):
        scope = {"type": "http", "method": method, "path": "/config",
                 "headers": [(b"host", b"127.0.0.1:7860")] + ([(b"origin", origin.encode())] if origin else [])}
        out = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            out.append(message)
        asyncio.run(RequestGuard(cors_app, MB)(scope, receive, send))
        return out[0]["status"], {k.decode(): v.decode() for k, v in out[0]["headers"]}

    for method in ("GET", "OPTIONS"):
        status, headers = get(method, "http://localhost:9999")
        assert status == 200 and not any(k.startswith("access-control-") for k in headers), (method, headers)
    status, headers = get("GET", "http://127.0.0.1:7860")              # its own page: as the application says
    assert headers["access-control-allow-origin"] == "http://localhost:9999"
    assert get("POST", "http://localhost:9999")[0] == 403

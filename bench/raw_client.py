"""A lean HTTP/1.1 load generator for the loop benchmarks: one request per connection
(`Connection: close`), the request written in one piece, the answer read to EOF.

Why not httpx: on these 2 cores the load generator shares the CPU with the app and
PostgreSQL, and httpx's AsyncClient costs 5-9 ms of CPU per loop at 8-32 concurrent
clients, as much as the app it measures. This one does the same exchange on the wire (a new
TCP connection, the same headers and JSON body) for a fraction of that, so more of the
machine is left to the server. Responses must carry Content-Length or end at close (no
chunked bodies); the JSON endpoints measured here do.
"""

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit


class RawResponse:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class RawClient:
    """The part of httpx.AsyncClient the loop benchmarks use: request(method, path, json=,
    headers=) -> a response with status_code, json() and text."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {"Host": f"{self.host}:{self.port}", "Connection": "close", **(headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items() if k != "Connection")
        self._fixed += "Connection: close\r\n"

    async def __aenter__(self) -> "RawClient":
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,  # noqa: A002  (httpx's name)
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        body = b"" if json is None else _dumps(json)
        head = f"{method} {path} HTTP/1.1\r\n{self._fixed}"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        if json is not None or method in ("POST", "PUT"):
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(head.encode("latin-1") + b"\r\n" + body)
            data = await reader.read(-1)  # the server closes after its answer
        finally:
            writer.close()
        split = data.index(b"\r\n\r\n")
        status = int(data[9:12])
        return RawResponse(status, data[split + 4 :])


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()

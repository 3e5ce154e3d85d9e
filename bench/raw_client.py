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
from urllib.parse import urlencode, urlsplit


class RawResponse:
    def __init__(self, status_code: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.status_code = status_code
        self.content = body
        self.headers = headers

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class RawClient:
    """The part of httpx.AsyncClient the loop benchmarks use: request(method, path, json=,
    headers=) -> a response with status_code, json() and text. `cookies=True` keeps the
    cookies the server sets and sends them back (a signed session cookie, as Potato uses);
    `form=` posts a urlencoded form."""

    def __init__(
        self, base_url: str, headers: dict[str, str] | None = None, cookies: bool = False
    ) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items() if k != "Connection")
        self._fixed += "Connection: close\r\n"
        self.cookies: dict[str, str] | None = {} if cookies else None

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
        form: dict[str, str] | None = None,
    ) -> RawResponse:
        extra = dict(headers or {})
        if self.cookies:
            extra["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body, kind = urlencode(form).encode(), "application/x-www-form-urlencoded"
        else:
            body, kind = (b"" if json is None else _dumps(json)), "application/json"
        head = f"{method} {path} HTTP/1.1\r\n{self._fixed}"
        head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        if body or method in ("POST", "PUT"):
            head += f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(head.encode("latin-1") + b"\r\n" + body)
            data = await reader.read(-1)  # the server closes after its answer
        finally:
            writer.close()
        split = data.index(b"\r\n\r\n")
        lines = data[:split].decode("latin-1").split("\r\n")
        pairs = [_header(line) for line in lines[1:] if ":" in line]
        if self.cookies is not None:
            for name, value in pairs:
                if name.lower() == "set-cookie":
                    key, _, val = value.split(";", 1)[0].partition("=")
                    self.cookies[key.strip()] = val.strip()
        return RawResponse(int(data[9:12]), data[split + 4 :], pairs)


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()

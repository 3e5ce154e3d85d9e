"""One async client for any OpenAI-compatible server (vLLM, SGLang, our model_server).

Both endpoints are parsed into one Completion: the text, and the top log-probs of the first
generated token (what helpfulness and critiqueability scores read).
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from app.core.settings import get_settings
from app.jobs.errors import BackendError, BackendUnavailable


class ModelError(BackendError):
    """The model backend failed or answered something we cannot use; says which and why."""


class ModelUnavailable(ModelError, BackendUnavailable):
    """The model backend cannot be reached, or says it cannot serve now (503 while its engine
    starts or restarts, 502 from a gateway in front of it). Not the request's fault: a job
    waits for the backend instead of spending an attempt."""


# A gateway's 502 means the server behind it is unreachable; 503 is "not now" (model_server
# while its engine (re)starts, vLLM while loading). Other 5xx are failures of a backend that
# is up, and count.
UNAVAILABLE_STATUSES = frozenset({502, 503})


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    # token -> log-prob, for the first generated token; empty when not requested.
    first_token_top_logprobs: dict[str, float]
    latency_ms: float


def parse_completion(body: dict[str, Any]) -> Completion:
    """A /v1/completions body (OpenAI legacy / vLLM shape)."""
    try:
        choice = body["choices"][0]
        lp = choice.get("logprobs") or {}
        tops = lp.get("top_logprobs") or []
        first = tops[0] if tops and tops[0] else {}
        return Completion(
            choice["text"],
            choice.get("finish_reason"),
            {str(k): float(v) for k, v in first.items()},
            0.0,
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ModelError(f"unexpected completions response shape: {exc!r}") from exc


def parse_chat_completion(body: dict[str, Any]) -> Completion:
    """A /v1/chat/completions body (OpenAI / vLLM shape)."""
    try:
        choice = body["choices"][0]
        content = (choice.get("logprobs") or {}).get("content") or []
        first: dict[str, float] = {}
        if content:
            for item in content[0].get("top_logprobs") or []:
                first[str(item["token"])] = float(item["logprob"])
        text = choice["message"].get("content") or ""
        return Completion(text, choice.get("finish_reason"), first, 0.0)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ModelError(f"unexpected chat completions response shape: {exc!r}") from exc


class ModelClient:
    def __init__(
        self,
        base_url: str,
        model: str,
        timeout_s: float = 120.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.retries = retries
        self.backoff_s = backoff_s
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=32),
            transport=transport,
        )

    async def __aenter__(self) -> "ModelClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(
        self,
        prompt: str,
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        body = self._body(max_tokens, temperature, stop, seed, prompt=prompt)
        if top_logprobs is not None:
            body["logprobs"] = top_logprobs
        return await self._post("/completions", body, parse_completion)

    async def chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        body = self._body(max_tokens, temperature, stop, seed, messages=messages)
        if top_logprobs is not None:
            body.update(logprobs=True, top_logprobs=top_logprobs)
        return await self._post("/chat/completions", body, parse_chat_completion)

    def _body(
        self,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None,
        seed: int | None,
        **content: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            **content,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            body["stop"] = stop
        if seed is not None:
            body["seed"] = seed
        return body

    @property
    def root_url(self) -> str:
        """The server's root: the base URL without its OpenAI-style /v1 suffix."""
        return self.base_url.removesuffix("/v1")

    async def probe(self, timeout_s: float = 5.0) -> tuple[bool, str]:
        """Is the backend up? GET <root>/health (vLLM and model_server answer 200 when ready,
        model_server 503 with its state while starting or restarting), or <base>/models where
        a server has no /health."""
        try:
            resp = await self._http.get(f"{self.root_url}/health", timeout=timeout_s)
            if resp.status_code == 404:
                resp = await self._http.get("/models", timeout=timeout_s)
        except httpx.HTTPError as exc:
            return False, f"{self.root_url} unreachable: {_describe(exc)}"
        if resp.status_code == 200:
            return True, f"{self.root_url} is ready"
        return False, f"{self.root_url} not ready ({resp.status_code}): {_health_message(resp)}"

    async def health(self, timeout_s: float = 5.0) -> tuple[bool, str]:
        """Up, and serving our model (what the admin page shows)."""
        up, detail = await self.probe(timeout_s)
        if not up:
            return False, detail
        try:
            resp = await self._http.get("/models", timeout=timeout_s)
            resp.raise_for_status()
            names = [m.get("id") for m in resp.json().get("data", [])]
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return False, f"{self.base_url}/models failed: {_describe(exc)}"
        if self.model not in names:
            return False, f"{self.base_url} serves {names}, not {self.model!r}"
        return True, f"{self.base_url} serves {self.model}"

    async def _post(self, path: str, body: dict[str, Any], parse: Any) -> Completion:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            start = time.perf_counter()
            try:
                resp = await self._http.post(path, json=body)
            except (httpx.ConnectTimeout, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                # Refused, reset, or the server died mid-request: nobody is there to answer.
                last = ModelUnavailable(
                    f"model backend at {self.base_url} unreachable: {_describe(exc)}"
                )
                continue
            except httpx.TimeoutException as exc:
                # Connected, but no answer in time: a failure of a backend that is up.
                last = ModelError(f"model backend at {self.base_url} timed out on {path}")
                last.__cause__ = exc
                continue
            except httpx.TransportError as exc:
                last = ModelError(f"model backend at {self.base_url} failed: {_describe(exc)}")
                continue
            if resp.status_code in UNAVAILABLE_STATUSES:
                last = ModelUnavailable(
                    f"model backend at {self.base_url} unavailable ({resp.status_code}) "
                    f"on {path}: {_message(resp)}"
                )
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                last = ModelError(
                    f"model backend answered {resp.status_code} on {path}: {_message(resp)}"
                )
                continue
            if resp.status_code >= 400:  # our request is wrong: retrying will not help
                raise ModelError(
                    f"model backend refused the request ({resp.status_code}) on {path}: {_message(resp)}"
                )
            try:
                parsed: Completion = parse(resp.json())
            except ValueError as exc:
                raise ModelError(f"model backend sent invalid JSON on {path}") from exc
            latency = (time.perf_counter() - start) * 1000
            return Completion(
                parsed.text, parsed.finish_reason, parsed.first_token_top_logprobs, latency
            )
        assert last is not None
        raise last


def model_client() -> ModelClient:
    """The client of the configured backend (settings: model URL, name, timeout, retries)."""
    s = get_settings()
    return ModelClient(
        s.model_url, s.model_name, timeout_s=s.model_timeout_s, retries=s.model_retries
    )


async def probe(timeout_s: float) -> tuple[bool, str]:
    async with model_client() as client:
        return await client.probe(timeout_s)


async def health(timeout_s: float) -> tuple[bool, str]:
    async with model_client() as client:
        return await client.health(timeout_s)


def _describe(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}"


def _health_message(resp: httpx.Response) -> str:
    """model_server's /health body ({"status": ..., "last_error": ...}) or an error body."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300] or resp.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    parts = [str(body["status"])] if body.get("status") else []
    for key in ("last_error", "error", "detail", "message"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if value:
            parts.append(str(value)[:300])
            break
    return ": ".join(parts) or str(body)[:300]


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if not isinstance(body, dict):
        return resp.text[:300]
    err = body.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err)[:300]
    return str(err or body.get("message") or resp.text[:300])[:300]

"""The client parses vLLM's documented response shapes and model_server's, retries sanely,
and tells an unreachable backend (ModelUnavailable: jobs wait, no attempt counted) from a
reachable one that failed (ModelError: the attempt counts)."""

import json

import httpx
import pytest

from app.assist.client import (
    ModelClient,
    ModelError,
    ModelUnavailable,
    parse_chat_completion,
    parse_completion,
)

# Shapes as vLLM's OpenAI-compatible server returns them (legacy completions and chat).
VLLM_COMPLETION = {
    "id": "cmpl-9f1c",
    "object": "text_completion",
    "created": 1718000000,
    "model": "critic",
    "choices": [
        {
            "index": 0,
            "text": " Yes",
            "logprobs": {
                "text_offset": [0],
                "token_logprobs": [-0.105],
                "tokens": [" Yes"],
                "top_logprobs": [{" Yes": -0.105, " No": -2.4, " yes": -5.1}],
            },
            "finish_reason": "length",
            "stop_reason": None,
            "prompt_logprobs": None,
        }
    ],
    "usage": {
        "prompt_tokens": 812,
        "total_tokens": 813,
        "completion_tokens": 1,
        "prompt_tokens_details": None,
    },
}
VLLM_CHAT = {
    "id": "chatcmpl-1a2b",
    "object": "chat.completion",
    "created": 1718000000,
    "model": "critic",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "reasoning_content": None,
                "content": "No",
                "tool_calls": [],
            },
            "logprobs": {
                "content": [
                    {
                        "token": "No",
                        "logprob": -0.3,
                        "bytes": [78, 111],
                        "top_logprobs": [
                            {"token": "No", "logprob": -0.3, "bytes": [78, 111]},
                            {"token": "Yes", "logprob": -1.5, "bytes": [89, 101, 115]},
                        ],
                    }
                ]
            },
            "finish_reason": "length",
            "stop_reason": None,
        }
    ],
    "usage": {"prompt_tokens": 900, "total_tokens": 901, "completion_tokens": 1},
    "prompt_logprobs": None,
}


def test_parses_vllm_completion() -> None:
    c = parse_completion(VLLM_COMPLETION)
    assert c.text == " Yes" and c.finish_reason == "length"
    assert c.first_token_top_logprobs == {" Yes": -0.105, " No": -2.4, " yes": -5.1}


def test_parses_vllm_chat_completion() -> None:
    c = parse_chat_completion(VLLM_CHAT)
    assert c.text == "No"
    assert c.first_token_top_logprobs == {"No": -0.3, "Yes": -1.5}


def test_parses_completion_without_logprobs() -> None:
    body = {
        "choices": [{"index": 0, "text": "A critique.", "logprobs": None, "finish_reason": "stop"}]
    }
    assert parse_completion(body).first_token_top_logprobs == {}


def test_unexpected_shape_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unexpected completions response shape"):
        parse_completion({"choices": []})


def _client(handler) -> ModelClient:  # type: ignore[no-untyped-def]
    return ModelClient(
        "http://backend/v1",
        "critic",
        retries=2,
        backoff_s=0.01,
        transport=httpx.MockTransport(handler),
    )


async def test_retries_server_errors_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        if len(calls) < 3:
            return httpx.Response(503, json={"error": {"message": "warming up"}})
        return httpx.Response(200, json=VLLM_COMPLETION)

    async with _client(handler) as client:
        c = await client.complete("p", max_tokens=1, temperature=0.0, top_logprobs=20)
    assert len(calls) == 3
    assert calls[0] == {
        "model": "critic",
        "prompt": "p",
        "max_tokens": 1,
        "temperature": 0.0,
        "logprobs": 20,
    }
    assert c.text == " Yes" and c.latency_ms >= 0


async def test_gives_up_after_bounded_retries_with_the_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async with _client(handler) as client:
        with pytest.raises(ModelUnavailable, match="unreachable: ConnectError: connection refused"):
            await client.complete("p", max_tokens=1, temperature=0.0)


async def test_does_not_retry_a_request_the_backend_refuses() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(
            400, json={"error": {"message": "maximum context length is 8192 tokens"}}
        )

    async with _client(handler) as client:
        with pytest.raises(
            ModelError, match=r"refused the request \(400\).*maximum context length"
        ):
            await client.complete("p", max_tokens=1, temperature=0.0)
    assert len(calls) == 1


async def test_chat_requests_ask_for_top_logprobs() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(json.loads(request.content))
        return httpx.Response(200, json=VLLM_CHAT)

    async with _client(handler) as client:
        await client.chat(
            [{"role": "user", "content": "q"}], max_tokens=1, temperature=0.0, top_logprobs=20
        )
    assert (
        seen["logprobs"] is True
        and seen["top_logprobs"] == 20
        and seen["messages"][0]["content"] == "q"
    )


def _raises(exc: Exception):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _answers(status: int, body: object):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return handler


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        (_raises(httpx.ConnectError("connection refused")), "unreachable: ConnectError"),
        (_raises(httpx.ConnectTimeout("connect timed out")), "unreachable: ConnectTimeout"),
        # The server died in the middle of the request (kill -9 of the backend).
        (
            _raises(httpx.RemoteProtocolError("Server disconnected without sending a response")),
            "unreachable: RemoteProtocolError",
        ),
        (_raises(httpx.ReadError("connection reset by peer")), "unreachable: ReadError"),
        # model_server while its engine restarts after a crash.
        (
            _answers(
                503,
                {"error": {"message": "engine restarting after signal 9", "type": "unavailable"}},
            ),
            r"unavailable \(503\).*engine restarting after signal 9",
        ),
        (_answers(502, {"message": "bad gateway"}), r"unavailable \(502\)"),
    ],
)
async def test_an_unreachable_or_restarting_backend_is_model_unavailable(handler, match) -> None:  # type: ignore[no-untyped-def]
    async with _client(handler) as client:
        with pytest.raises(ModelUnavailable, match=match):
            await client.complete("p", max_tokens=1, temperature=0.0)


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        (_answers(500, {"error": {"message": "CUDA error"}}), r"answered 500.*CUDA error"),
        (_answers(429, {"error": {"message": "too many"}}), "answered 429"),
        (_answers(404, {"error": {"message": "model not found"}}), r"refused.*\(404\)"),
        (_answers(200, {"choices": []}), "unexpected completions response shape"),
        # Connected but no answer in time: the backend is up, the request is the problem.
        (_raises(httpx.ReadTimeout("read timed out")), "timed out on /completions"),
    ],
)
async def test_a_reachable_backend_that_fails_is_a_plain_model_error(handler, match) -> None:  # type: ignore[no-untyped-def]
    async with _client(handler) as client:
        with pytest.raises(ModelError, match=match) as info:
            await client.complete("p", max_tokens=1, temperature=0.0)
    assert not isinstance(info.value, ModelUnavailable)


def _routes(routes: dict[str, httpx.Response | Exception]):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        answer = routes.get(request.url.path, httpx.Response(404))
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


async def test_probe_reads_health_at_the_server_root() -> None:
    handler, seen = _routes({"/health": httpx.Response(200)})  # vLLM: 200, empty body
    async with _client(handler) as client:
        assert await client.probe() == (True, "http://backend is ready")
    assert seen == ["/health"]


async def test_probe_reports_a_restarting_model_server_with_its_last_error() -> None:
    handler, _ = _routes(
        {
            "/health": httpx.Response(
                503,
                json={"status": "restarting", "last_error": "engine died (signal 11, SIGSEGV)"},
            ),
            "/v1/models": httpx.Response(200, json={"data": [{"id": "critic"}]}),
        }
    )
    async with _client(handler) as client:
        up, detail = await client.probe()
        assert not up and "503" in detail and "restarting" in detail and "SIGSEGV" in detail
        assert (await client.health())[0] is False


async def test_probe_falls_back_to_models_when_there_is_no_health_route() -> None:
    handler, seen = _routes({"/v1/models": httpx.Response(200, json={"data": [{"id": "critic"}]})})
    async with _client(handler) as client:
        assert (await client.probe())[0] is True
        assert await client.health() == (True, "http://backend/v1 serves critic")
    assert seen[:2] == ["/health", "/v1/models"]


async def test_probe_of_a_closed_port_says_unreachable() -> None:
    handler, _ = _routes({"/health": httpx.ConnectError("connection refused")})
    async with _client(handler) as client:
        up, detail = await client.probe()
    assert not up and detail == "http://backend unreachable: ConnectError: connection refused"


async def test_health_names_the_model_a_backend_serves_instead() -> None:
    handler, _ = _routes(
        {
            "/health": httpx.Response(200),
            "/v1/models": httpx.Response(200, json={"data": [{"id": "other"}]}),
        }
    )
    async with _client(handler) as client:
        assert await client.health() == (False, "http://backend/v1 serves ['other'], not 'critic'")

"""The client parses vLLM's documented response shapes and model_server's, and retries sanely."""

import json

import httpx
import pytest

from app.assist.client import ModelClient, ModelError, parse_chat_completion, parse_completion

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
        with pytest.raises(ModelError, match="unreachable: ConnectError: connection refused"):
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

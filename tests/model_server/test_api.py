"""model_server with the shipped SmolLM2 model: OpenAI/vLLM shapes, batching, bad requests."""

import asyncio
import math

import httpx
import pytest

from tests.support.model_server import ModelServerProcess

MODEL = "smollm2-135m-instruct"


def post(server: ModelServerProcess, path: str, body: dict) -> httpx.Response:  # type: ignore[type-arg]
    return httpx.post(server.url + path, json=body, timeout=120)


def test_models_and_health(model_server: ModelServerProcess) -> None:
    models = httpx.get(model_server.url + "/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == MODEL
    assert httpx.get(model_server.url.removesuffix("/v1") + "/health").json()["status"] == "ready"


def test_completion_with_top_logprobs_in_the_openai_shape(model_server: ModelServerProcess) -> None:
    body = post(
        model_server,
        "/completions",
        {
            "model": MODEL,
            "prompt": "The capital of France is",
            "max_tokens": 4,
            "temperature": 0,
            "logprobs": 5,
        },
    ).json()
    choice = body["choices"][0]
    lp = choice["logprobs"]
    assert (
        len(lp["tokens"])
        == len(lp["token_logprobs"])
        == len(lp["top_logprobs"])
        == len(lp["text_offset"])
        == body["usage"]["completion_tokens"]
    )
    assert "".join(lp["tokens"]).startswith(
        choice["text"]
    )  # plus the end token, if one was sampled
    first = lp["top_logprobs"][0]
    assert len(first) == 5
    # Greedy: the chosen token is the most likely one, and log-probs are a real distribution.
    assert lp["token_logprobs"][0] == max(first.values())
    assert sum(math.exp(v) for v in first.values()) <= 1.0 + 1e-6
    assert choice["finish_reason"] in ("length", "stop")


def test_logprobs_are_the_raw_distribution_whatever_the_temperature(
    model_server: ModelServerProcess,
) -> None:
    bodies = [
        post(
            model_server,
            "/completions",
            {
                "prompt": "Is water wet? Answer:",
                "max_tokens": 1,
                "temperature": t,
                "logprobs": 5,
                "seed": 1,
            },
        ).json()
        for t in (0.0, 1.0)
    ]
    tops = [b["choices"][0]["logprobs"]["top_logprobs"][0] for b in bodies]
    assert set(tops[0]) == set(tops[1])
    for token in tops[0]:
        assert tops[0][token] == pytest.approx(tops[1][token], abs=1e-4)


def test_chat_completion_logprobs_shape(model_server: ModelServerProcess) -> None:
    body = post(
        model_server,
        "/chat/completions",
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Is the sky blue? Reply Yes or No."}],
            "max_tokens": 2,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": 5,
        },
    ).json()
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and isinstance(
        choice["message"]["content"], str
    )
    first = choice["logprobs"]["content"][0]
    assert set(first) == {"token", "logprob", "bytes", "top_logprobs"}
    assert len(first["top_logprobs"]) == 5
    assert {"token", "logprob", "bytes"} == set(first["top_logprobs"][0])


def test_echo_returns_prompt_tokens_with_logprobs(model_server: ModelServerProcess) -> None:
    body = post(
        model_server,
        "/completions",
        {"prompt": "Hello there", "max_tokens": 1, "temperature": 0, "echo": True, "logprobs": 1},
    ).json()
    choice = body["choices"][0]
    assert choice["text"].startswith("Hello there")
    lp = choice["logprobs"]
    assert lp["token_logprobs"][0] is None and lp["top_logprobs"][0] is None
    assert all(isinstance(v, float) for v in lp["token_logprobs"][1:])


def test_stop_strings_cut_the_text(model_server: ModelServerProcess) -> None:
    body = post(
        model_server,
        "/completions",
        {"prompt": "List: 1, 2, 3,", "max_tokens": 20, "temperature": 0, "stop": [","]},
    ).json()
    assert "," not in body["choices"][0]["text"]
    assert body["choices"][0]["finish_reason"] == "stop"


def test_same_seed_same_sample(model_server: ModelServerProcess) -> None:
    req = {"prompt": "Once upon a time", "max_tokens": 8, "temperature": 1.0, "seed": 42}
    assert (
        post(model_server, "/completions", req).json()["choices"][0]["text"]
        == post(model_server, "/completions", req).json()["choices"][0]["text"]
    )


async def test_concurrent_requests_sharing_a_prompt_are_all_answered(
    model_server: ModelServerProcess,
) -> None:
    prompt = "A passage about lighthouses. " * 40 + "\nCritique:"
    async with httpx.AsyncClient(base_url=model_server.url, timeout=120) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/completions",
                    json={"prompt": prompt, "max_tokens": 6, "temperature": t, "seed": 3},
                )
                for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)
            ),
            client.get("/v1/models".removeprefix("/v1")),
        )
    assert all(r.status_code == 200 for r in responses)
    texts = [r.json()["choices"][0]["text"] for r in responses[:8]]
    # Greedy in a batch equals greedy alone.
    alone = post(
        model_server, "/completions", {"prompt": prompt, "max_tokens": 6, "temperature": 0.0}
    ).json()
    assert texts[0] == alone["choices"][0]["text"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"prompt": 5}, 400, "prompt"),
        ({"prompt": "x", "max_tokens": "ten"}, 400, "max_tokens"),
        (
            {"prompt": "x", "temperature": -0.5},
            400,
            "temperature: Input should be greater than or equal to 0",
        ),
        ({"prompt": "x", "logprobs": 50}, 400, "logprobs"),
        (
            {"prompt": "word " * 5000, "max_tokens": 10},
            400,
            "maximum context length is 4096 tokens",
        ),
        ({"prompt": "x", "model": "gpt-99"}, 404, "The model `gpt-99` does not exist."),
        ({"prompt": "x", "stream": True}, 400, "stream"),
        ({}, 400, "prompt: Field required"),
    ],
    ids=[
        "prompt-type",
        "max-tokens-type",
        "negative-temperature",
        "too-many-logprobs",
        "too-long",
        "unknown-model",
        "stream",
        "missing-prompt",
    ],
)
def test_bad_requests_get_a_clear_4xx_and_the_server_lives_on(
    model_server: ModelServerProcess, body: dict, status: int, message: str
) -> None:  # type: ignore[type-arg]
    resp = post(model_server, "/completions", body)
    assert resp.status_code == status
    assert message in resp.json()["error"]["message"]
    assert post(model_server, "/completions", {"prompt": "ok", "max_tokens": 1}).status_code == 200


def test_malformed_json_body_is_a_400(model_server: ModelServerProcess) -> None:
    resp = httpx.post(
        model_server.url + "/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 400
    resp = post(
        model_server, "/chat/completions", {"messages": [{"role": "robot", "content": "x"}]}
    )
    assert resp.status_code == 400 and "role" in resp.json()["error"]["message"]


def test_openapi_documents_the_response_shapes(model_server: ModelServerProcess) -> None:
    spec = httpx.get(model_server.url.removesuffix("/v1") + "/openapi.json").json()
    ok = spec["paths"]["/v1/completions"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/CompletionResponse")
    assert {"CompletionResponse", "ChatCompletionResponse", "ModelList", "Health"} <= set(
        spec["components"]["schemas"]
    )

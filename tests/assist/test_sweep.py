"""The sweep's logic on a scripted backend: temperatures, de-duplication, scores, order."""

import json
import math

import httpx

from app.assist.client import ModelClient
from app.assist.prompts import Context, prompt_format
from app.assist.sweep import CRITIQUE_TEMPERATURES, critique_sweep

CTX = Context(passage="Mara kept the light.", question="Who kept the light?", answer="Tobias.")
# Critique text by temperature; 0.1 repeats 0.0 exactly, 0.6 is empty.
WRITES = {
    0.0: "Wrong person.",
    0.1: "wrong person",
    0.2: "It omits Mara.",
    0.3: "Too short.",
    0.4: "Names the uncle.",
    0.5: "Unclear.",
    0.6: "",
    1.0: "Off topic.",
}
# Pr[Yes] by critique; "Unclear." gets no Yes/No in its top tokens.
YES = {
    "Wrong person.": 0.9,
    "It omits Mara.": 0.7,
    "Too short.": 0.2,
    "Names the uncle.": 0.7,
    "Off topic.": 0.1,
}


def backend(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    prompt = body["prompt"]
    if body.get("logprobs"):
        critique = prompt.split("Critique: ")[-1].split("\n\n")[0] if "Helpful:" in prompt else None
        if critique == "Unclear.":
            top = {" The": -0.1}
        else:
            p = YES.get(critique, 0.4) if critique else 0.6
            top = {" Yes": math.log(p), " No": math.log(1 - p)}
        return httpx.Response(
            200,
            json={
                "choices": [
                    {"text": " Yes", "logprobs": {"top_logprobs": [top]}, "finish_reason": "length"}
                ]
            },
        )
    return httpx.Response(
        200,
        json={"choices": [{"text": " " + WRITES[body["temperature"]], "finish_reason": "stop"}]},
    )


async def test_sweep_dedupes_scores_and_sorts() -> None:
    async with ModelClient(
        "http://b/v1", "critic", transport=httpx.MockTransport(backend)
    ) as client:
        result = await critique_sweep(client, prompt_format("paper"), CTX)
    texts = [c.text for c in result.critiques]
    # Sorted by score; ties keep temperature order; the unscored critique goes last.
    assert texts == [
        "Wrong person.",
        "It omits Mara.",
        "Names the uncle.",
        "Too short.",
        "Off topic.",
        "Unclear.",
    ]
    assert [c.rank for c in result.critiques] == [1, 2, 3, 4, 5, 6]
    assert [c.temperature for c in result.critiques] == [0.0, 0.2, 0.4, 0.3, 1.0, 0.5]
    assert result.critiques[-1].score.value is None
    assert "neither Yes nor No" in (result.critiques[-1].score.missing_reason or "")
    assert (
        result.critiqueability.value is not None and abs(result.critiqueability.value - 0.6) < 1e-9
    )
    assert (result.model_name, result.prompt_version) == ("critic", "paper-v1")


async def test_sweep_sends_one_request_per_paper_temperature() -> None:
    temps = []

    def recording(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("logprobs"):
            temps.append(body["temperature"])
        return backend(request)

    async with ModelClient(
        "http://b/v1", "critic", transport=httpx.MockTransport(recording)
    ) as client:
        await critique_sweep(client, prompt_format("paper"), CTX)
    assert sorted(temps) == list(CRITIQUE_TEMPERATURES) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0]


def test_prompts_of_one_answer_share_their_prefix() -> None:
    paper = prompt_format("paper")
    critique, helpful = paper.critique(CTX).text, paper.helpfulness(CTX, "Wrong person.").text
    assert helpful.startswith(critique)  # the critique the model writes continues the same text
    chat = prompt_format("chat")
    asked = chat.critique(CTX).messages
    follow_up = chat.helpfulness(CTX, "Wrong person.").messages
    assert follow_up[: len(asked)] == asked
    assert follow_up[len(asked)] == ("assistant", "Wrong person.")

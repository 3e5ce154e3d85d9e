"""The critique sweep and model answers: what the model writes, how it is scored and sorted."""

import asyncio
import random
from dataclasses import dataclass

from app.assist.client import Completion, ModelClient
from app.assist.dedupe import dedupe
from app.assist.prompts import Context, Prompt, PromptFormat
from app.assist.scoring import Score, yes_no_score

CRITIQUE_TEMPERATURES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)
ANSWER_TEMPERATURES = tuple(round(i / 10, 1) for i in range(11))
SCORE_TOP_LOGPROBS = 20
CRITIQUE_MAX_TOKENS = 96
ANSWER_MAX_TOKENS = 200


async def run_prompt(
    client: ModelClient,
    prompt: Prompt,
    *,
    max_tokens: int,
    temperature: float,
    top_logprobs: int | None = None,
) -> Completion:
    stop = list(prompt.stop) or None
    if prompt.kind == "chat":
        return await client.chat(
            prompt.chat_messages(),
            max_tokens=max_tokens,
            temperature=temperature,
            stop=stop,
            top_logprobs=top_logprobs,
        )
    return await client.complete(
        prompt.text,
        max_tokens=max_tokens,
        temperature=temperature,
        stop=stop,
        top_logprobs=top_logprobs,
    )


async def yes_no(client: ModelClient, prompt: Prompt) -> tuple[Score, float]:
    completion = await run_prompt(
        client, prompt, max_tokens=1, temperature=0.0, top_logprobs=SCORE_TOP_LOGPROBS
    )
    return yes_no_score(completion.first_token_top_logprobs), completion.latency_ms


@dataclass(frozen=True)
class SweptCritique:
    text: str
    temperature: float
    score: Score
    rank: int
    latency_ms: float


@dataclass(frozen=True)
class Assistance:
    critiques: list[SweptCritique]
    critiqueability: Score
    model_name: str
    prompt_version: str


def _sort_key(item: tuple[int, float, Score]) -> tuple[bool, float, int]:
    index, _, score = item
    # Highest helpfulness first; critiques with no score go last, in temperature order.
    return (score.value is None, -(score.value or 0.0), index)


async def critique_sweep(
    client: ModelClient, fmt: PromptFormat, ctx: Context, max_tokens: int = CRITIQUE_MAX_TOKENS
) -> Assistance:
    """Eight critiques at the paper's temperatures, de-duplicated, scored and sorted."""
    prompt = fmt.critique(ctx)
    completions = await asyncio.gather(
        *(
            run_prompt(client, prompt, max_tokens=max_tokens, temperature=t)
            for t in CRITIQUE_TEMPERATURES
        )
    )
    texts = [c.text.strip() for c in completions]
    keep = dedupe(texts)
    scored = await asyncio.gather(
        yes_no(client, fmt.critiqueability(ctx)),
        *(yes_no(client, fmt.helpfulness(ctx, texts[i])) for i in keep),
    )
    critiqueability = scored[0][0]
    items = [
        (i, completions[i].latency_ms + lat, score)
        for i, (score, lat) in zip(keep, scored[1:], strict=True)
    ]
    ordered = sorted(items, key=_sort_key)
    critiques = [
        SweptCritique(texts[i], CRITIQUE_TEMPERATURES[i], score, rank, latency)
        for rank, (i, latency, score) in enumerate(ordered, start=1)
    ]
    return Assistance(critiques, critiqueability, client.model, fmt.version)


async def model_answer(
    client: ModelClient, fmt: PromptFormat, ctx: Context, rng: random.Random
) -> tuple[str, float]:
    """An answer sampled at a temperature drawn uniformly from {0.0, 0.1, ..., 1.0}."""
    temperature = rng.choice(ANSWER_TEMPERATURES)
    completion = await run_prompt(
        client, fmt.answer(ctx), max_tokens=ANSWER_MAX_TOKENS, temperature=temperature
    )
    return completion.text.strip(), temperature

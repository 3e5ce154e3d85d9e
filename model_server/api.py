"""The OpenAI-compatible HTTP API: /v1/models, /v1/completions, /v1/chat/completions, /health."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from jinja2 import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

from model_server.engine_process import EngineInfo
from model_server.protocol import GenRequest, GenResult, TokenLogprob
from model_server.scheduler import Scheduler
from model_server.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatCompletionResponse,
    ChatLogprobs,
    ChatRequest,
    ChatTokenLogprob,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionResponse,
    EngineState,
    Health,
    ModelCard,
    ModelList,
    TopLogprob,
    Usage,
)
from model_server.supervisor import EngineError, EngineSupervisor, EngineUnavailable


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


_ERROR_TYPES = {404: "NotFoundError", 500: "InternalServerError", 503: "ServiceUnavailableError"}


def _error(status: int, message: str, param: str | None = None) -> JSONResponse:
    kind = _ERROR_TYPES.get(status, "BadRequestError")
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": status}},
        status_code=status,
    )


@dataclass
class ServedModel:
    name: str
    engine: EngineSupervisor
    scheduler: Scheduler

    @property
    def info(self) -> EngineInfo:
        info = self.engine.info
        if info is None:
            raise EngineUnavailable(f"the model engine is {self.engine.status.state}")
        return info

    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx

    def piece(self, token: int) -> bytes:
        return self.info.pieces[token]

    def piece_text(self, token: int) -> str:
        return self.piece(token).decode("utf-8", "replace")

    async def tokenize(self, text: str, add_special: bool = True) -> list[int]:
        return await asyncio.to_thread(self.engine.tokenize, text, add_special)


def _served(request: Request) -> ServedModel:
    served: ServedModel = request.app.state.served
    return served


Served = Annotated[ServedModel, Depends(_served)]
router = APIRouter()


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(served: Served) -> JSONResponse:
    status = served.engine.status
    body = Health(status=status.state, model=served.name, engine=EngineState(**status.as_json()))  # type: ignore[arg-type]
    return JSONResponse(body.model_dump(), status_code=200 if status.state == "ready" else 503)


@router.get("/v1/models")
async def models(served: Served) -> ModelList:
    # max_model_len is known once the engine is ready: 503 until then, as vLLM, which does
    # not listen before its engine is up.
    return ModelList(data=[ModelCard(id=served.name, root=served.name, max_model_len=served.n_ctx)])


@router.post("/v1/completions")
async def completions(body: CompletionRequest, served: Served) -> CompletionResponse:
    _check_model(served, body.model)
    prompts = body.prompts()
    if not prompts:
        raise BadRequest("prompt must not be empty", "prompt")
    requests = [
        _gen_request(
            served,
            await served.tokenize(p),
            body.max_tokens,
            body,
            logprobs=body.logprobs,
            echo=body.echo,
        )
        for p in prompts
    ]
    results = list(await asyncio.gather(*(served.scheduler.submit(r) for r in requests)))
    choices = []
    for i, (prompt, req, res) in enumerate(zip(prompts, requests, results, strict=True)):
        text = res.text.decode("utf-8", "replace")
        choices.append(
            CompletionChoice(
                index=i,
                text=(prompt + text) if body.echo else text,
                logprobs=_completion_logprobs(served, req, res, body.echo)
                if body.logprobs is not None
                else None,
                finish_reason=res.finish_reason,
            )
        )
    return CompletionResponse(
        id=f"cmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=served.name,
        choices=choices,
        usage=_usage(requests, results),
    )


@router.post("/v1/chat/completions")
async def chat(body: ChatRequest, served: Served) -> ChatCompletionResponse:
    _check_model(served, body.model)
    if body.top_logprobs is not None and not body.logprobs:
        raise BadRequest("top_logprobs needs logprobs=true", "top_logprobs")
    prompt = _render_chat(served, body)
    req = _gen_request(
        served,
        await served.tokenize(prompt, add_special=False),
        body.max_completion_tokens or body.max_tokens or 256,
        body,
        logprobs=(body.top_logprobs or 0) if body.logprobs else None,
    )
    res = await served.scheduler.submit(req)
    logprobs = None
    if body.logprobs:
        logprobs = ChatLogprobs(
            content=[
                ChatTokenLogprob(
                    **_top(served, lp.token, lp.logprob).model_dump(),
                    top_logprobs=[_top(served, t, v) for t, v in lp.top],
                )
                for lp in res.logprobs
            ]
        )
    return ChatCompletionResponse(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=served.name,
        choices=[
            ChatChoice(
                index=0,
                message=AssistantMessage(content=res.text.decode("utf-8", "replace")),
                logprobs=logprobs,
                finish_reason=res.finish_reason,
            )
        ],
        usage=_usage([req], [res]),
    )


def build_app(engine: EngineSupervisor, served_name: str, batch_window_s: float = 0.01) -> FastAPI:
    """The HTTP API over a supervised engine process (started by the caller)."""
    served = ServedModel(
        name=served_name,
        engine=engine,
        scheduler=Scheduler(
            engine.run, max(1, engine.config.n_seq_max // 2), window_s=batch_window_s
        ),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        served.scheduler.close()
        engine.stop()

    app = FastAPI(title="critiquelab model_server", lifespan=lifespan)
    app.state.served = served
    app.include_router(router)

    @app.exception_handler(BadRequest)
    async def _bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return _error(exc.status, exc.message, exc.param)

    @app.exception_handler(EngineUnavailable)
    async def _unavailable(_: Request, exc: EngineUnavailable) -> JSONResponse:
        response = _error(503, str(exc))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(EngineError)
    async def _engine_error(_: Request, exc: EngineError) -> JSONResponse:
        return _error(500, f"the engine failed on this batch and freed it: {exc}")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"] if p != "body")
        return _error(400, f"{loc}: {err['msg']}" if loc else err["msg"], loc or None)

    return app


def _check_model(served: ServedModel, model: str | None) -> None:
    if model is not None and model != served.name:
        raise BadRequest(f"The model `{model}` does not exist.", "model", status=404)


def _gen_request(
    served: ServedModel,
    tokens: list[int],
    max_tokens: int,
    body: CompletionRequest | ChatRequest,
    logprobs: int | None,
    echo: bool = False,
) -> GenRequest:
    n_ctx = served.n_ctx
    if not tokens:
        raise BadRequest("prompt is empty after tokenization", "prompt")
    if len(tokens) + max_tokens > n_ctx:
        raise BadRequest(
            f"This model's maximum context length is {n_ctx} tokens. However, you requested "
            f"{len(tokens) + max_tokens} tokens ({len(tokens)} in the prompt, {max_tokens} in the "
            "completion). Please reduce the length of the prompt or of max_tokens.",
            "prompt",
        )
    return GenRequest(
        prompt_tokens=tokens,
        max_tokens=max_tokens,
        temperature=float(body.temperature),
        top_p=float(body.top_p),
        seed=body.seed,
        stop=body.stops(),
        logprobs=logprobs,
        echo=echo,
    )


@lru_cache(maxsize=4)
def _chat_template(source: str) -> Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(source)


def _render_chat(served: ServedModel, body: ChatRequest) -> str:
    source = served.info.chat_template
    if not source:
        raise BadRequest("this model has no chat template; use /v1/completions", "messages")
    return _chat_template(source).render(
        messages=[m.model_dump() for m in body.messages],
        add_generation_prompt=True,
        bos_token="",
        eos_token="",
    )


def _usage(requests: list[GenRequest], results: list[GenResult]) -> Usage:
    prompt = sum(len(r.prompt_tokens) for r in requests)
    completion = sum(len(r.tokens) for r in results)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _top(served: ServedModel, token: int, logprob: float) -> TopLogprob:
    return TopLogprob(
        token=served.piece_text(token), logprob=logprob, bytes=list(served.piece(token))
    )


def _completion_logprobs(
    served: ServedModel, req: GenRequest, res: GenResult, echo: bool
) -> CompletionLogprobs:
    tokens: list[str] = []
    token_logprobs: list[float | None] = []
    top_logprobs: list[dict[str, float] | None] = []
    offsets: list[int] = []
    offset = 0

    def add(token: int, lp: TokenLogprob | None) -> None:
        nonlocal offset
        text = served.piece_text(token)
        tokens.append(text)
        offsets.append(offset)
        offset += len(text)
        token_logprobs.append(lp.logprob if lp else None)
        top_logprobs.append({served.piece_text(t): v for t, v in lp.top} if lp else None)

    if echo:
        prompt_lps = res.prompt_logprobs or [None] * len(req.prompt_tokens)
        for tok, plp in zip(req.prompt_tokens, prompt_lps, strict=True):
            add(tok, plp)
    for lp in res.logprobs:
        add(lp.token, lp)
    return CompletionLogprobs(
        tokens=tokens, token_logprobs=token_logprobs, top_logprobs=top_logprobs, text_offset=offsets
    )

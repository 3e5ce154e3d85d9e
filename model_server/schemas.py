"""Request bodies of the OpenAI-compatible endpoints (the subset our clients use, vLLM-shaped)."""

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

MAX_LOGPROBS = 20  # as `vllm serve --max-logprobs 20`
MAX_SEED = 2**63 - 1


def _encodable(text: str) -> str:
    # JSON can carry lone UTF-16 surrogates ("\ud800"); they have no UTF-8 form to tokenize.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"text has a lone surrogate at position {exc.start}") from None
    return text


Number = Annotated[StrictFloat | StrictInt, Field(allow_inf_nan=False)]
Text = Annotated[StrictStr, AfterValidator(_encodable)]


class _Request(BaseModel):
    # Unknown OpenAI parameters are ignored, as vLLM does; known ones are strictly typed.
    model_config = ConfigDict(extra="ignore")

    model: Text | None = None
    temperature: Number = Field(default=1.0, ge=0.0, le=2.0)
    top_p: Number = Field(default=1.0, gt=0.0, le=1.0)
    stop: Text | list[Text] | None = None
    seed: StrictInt | None = Field(default=None, ge=0, le=MAX_SEED)
    n: StrictInt = Field(default=1, ge=1, le=1, description="only n=1 is served")
    stream: Literal[False] = False

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class CompletionRequest(_Request):
    prompt: Text | list[Text]
    max_tokens: StrictInt = Field(default=16, ge=0)
    logprobs: StrictInt | None = Field(default=None, ge=0, le=MAX_LOGPROBS)
    echo: StrictBool = False

    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: Text


class ChatRequest(_Request):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    logprobs: StrictBool = False
    top_logprobs: StrictInt | None = Field(default=None, ge=0, le=MAX_LOGPROBS)

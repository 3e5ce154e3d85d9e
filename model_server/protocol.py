"""What crosses the process boundary between the HTTP server and the engine process.

Plain dataclasses of ints, floats and bytes, so they pickle cheaply and importing them
loads no native code.
"""

from dataclasses import dataclass, field


@dataclass
class GenRequest:
    prompt_tokens: list[int]
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    logprobs: int | None = None  # top-k per generated token (0 = only the chosen token's)
    echo: bool = False

    @property
    def needs_prompt_logits(self) -> bool:
        return self.echo and self.logprobs is not None


@dataclass
class TokenLogprob:
    token: int
    logprob: float
    top: list[tuple[int, float]]


@dataclass
class GenResult:
    tokens: list[int]
    text: bytes
    finish_reason: str
    logprobs: list[TokenLogprob]
    prompt_logprobs: list[TokenLogprob | None] | None = None

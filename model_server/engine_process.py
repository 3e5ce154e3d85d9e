"""The engine process: the only process that loads llama.cpp.

The HTTP server starts it (multiprocessing, spawn) and talks to it over two pipes: one for
batches of generation requests, answered by the main thread, and one for tokenization,
answered by a second thread so a tokenization never waits behind a long batch. A crash in
native code ends this process only; the server answers the requests in flight with 503 and
starts a new one.

Before it says it is ready the engine checks itself (`self_test`): a multi-token prompt and
a batch of two sequences must decode to finite log-probs, and greedy decoding in the batch
must agree with greedy decoding alone.
"""

import faulthandler
import os
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from model_server.engine import Engine
from model_server.protocol import GenRequest


@dataclass(frozen=True)
class EngineConfig:
    model_path: str
    n_ctx: int
    n_batch: int
    n_seq_max: int
    n_threads: int | None = None
    extra_bufts: bool = False


@dataclass(frozen=True)
class EngineInfo:
    """What the HTTP server needs to know about the loaded model, sent once when ready."""

    n_ctx: int
    chat_template: str | None
    # Every token's bytes with control tokens rendered, for log-prob tokens in responses.
    pieces: list[bytes]
    max_sequences: int


class SelfTestFailed(RuntimeError):
    pass


SELF_TEST_PROMPT = "The lighthouse keeper climbed the stairs and looked out at the sea. He saw"


def self_test(engine: Engine, tokenize: Any) -> None:
    """Decode a multi-token prompt, then two sequences in one batch; raise on anything odd."""
    prompt = tokenize(SELF_TEST_PROMPT, True)
    alone = engine.run([GenRequest(prompt, max_tokens=3, temperature=0.0, logprobs=5)])[0]
    _check_finite("a single multi-token prompt", alone.logprobs)
    other = tokenize(SELF_TEST_PROMPT + " a ship", True)
    batch = engine.run(
        [
            GenRequest(prompt, max_tokens=3, temperature=0.0, logprobs=5),
            GenRequest(other, max_tokens=3, temperature=0.0, logprobs=5),
        ]
    )
    for res in batch:
        _check_finite("a batch of 2 sequences", res.logprobs)
    if not alone.tokens or batch[0].tokens[:1] != alone.tokens[:1]:
        raise SelfTestFailed(
            "a batch of 2 sequences decoded differently from the same prompt alone "
            f"(first tokens {batch[0].tokens[:1]} vs {alone.tokens[:1]})"
        )
    engine.reset()


def _check_finite(what: str, logprobs: list[Any]) -> None:
    if not logprobs:
        raise SelfTestFailed(f"{what} produced no tokens")
    values = [lp.logprob for lp in logprobs] + [v for lp in logprobs for _, v in lp.top]
    if not np.all(np.isfinite(values)):
        raise SelfTestFailed(f"{what} decoded to non-finite log-probs (NaN or inf)")


def main(config: EngineConfig, work: Connection, tokens: Connection, parent_pid: int) -> None:
    """Process entry point: load, check, report ready, then serve until told to stop."""
    faulthandler.enable()  # a native crash prints the Python stack before the process dies
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        engine, info, tokenize = _load(config)
    except Exception as exc:
        work.send(("failed", _describe(exc)))
        return
    work.send(("ready", info))
    threading.Thread(target=_serve_tokens, args=(tokens, tokenize), daemon=True).start()
    while True:
        try:
            message = work.recv()
        except EOFError:
            return
        if message[0] == "stop":
            return
        _, requests = message
        try:
            results = engine.run(requests)
        except Exception as exc:  # the engine has reset itself; keep serving
            work.send(("error", _describe(exc)))
        else:
            work.send(("ok", results))


def _load(config: EngineConfig) -> tuple[Engine, EngineInfo, Any]:
    from model_server.llama import ContextShape, LlamaContext  # loads llama.cpp

    llama = LlamaContext(
        config.model_path,
        ContextShape(config.n_ctx, config.n_batch, config.n_seq_max),
        config.n_threads,
        extra_bufts=config.extra_bufts,
    )
    engine = Engine(llama)
    try:
        self_test(engine, llama.tokenize)
    except SelfTestFailed:
        raise
    except Exception as exc:
        raise SelfTestFailed(f"decoding failed with {_describe(exc)}") from exc
    info = EngineInfo(
        n_ctx=llama.n_ctx,
        chat_template=llama.meta("tokenizer.chat_template"),
        pieces=[llama.piece(t, special=True) for t in range(llama.n_vocab)],
        max_sequences=engine.max_sequences,
    )
    return engine, info, llama.tokenize


def _serve_tokens(conn: Connection, tokenize: Any) -> None:
    while True:
        try:
            text, add_special = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", tokenize(text, add_special)))
        except Exception as exc:
            conn.send(("error", _describe(exc)))


def _exit_with_parent(parent_pid: int) -> None:
    # If the server is killed outright, its engine must not live on holding the model.
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SelfTestFailed):
        return f"self-test: {exc}"
    text = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    if isinstance(exc, RuntimeError):
        return text
    return text + "\n" + "".join(traceback.format_exception(exc, limit=-3)).rstrip()

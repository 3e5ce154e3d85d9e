"""Batched generation over one llama.cpp context.

A *group* is a list of requests decoded together. Their longest common prompt prefix is
evaluated once; each request gets its own sequence that shares the prefix cells, the rest
of every prompt is evaluated in one batch, and every decoding step advances all unfinished
sequences in one llama_decode call, each sampled with its own temperature, top_p and seed.
The previous group's sequences stay cached, so a sweep's scoring prompts (which repeat the
passage and the critique just written) reuse their cells. Log-probs are the raw
distribution, before temperature.
"""

from typing import TYPE_CHECKING

import numpy as np

from model_server.protocol import GenRequest, GenResult, TokenLogprob

if TYPE_CHECKING:  # the engine runs in the engine process; importers need not load llama.cpp
    from model_server.llama import LlamaContext


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x -= x.max()
    out: np.ndarray = x - np.log(np.exp(x).sum())
    return out


def _top(logp: np.ndarray, k: int) -> list[tuple[int, float]]:
    if k <= 0:
        return []
    idx = np.argpartition(-logp, k - 1)[:k]
    idx = idx[np.argsort(-logp[idx])]
    return [(int(i), float(logp[i])) for i in idx]


def sample(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    if temperature <= 0.0:
        return int(np.argmax(logits))
    x = logits.astype(np.float64) / temperature
    x -= x.max()
    p = np.exp(x)
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p)
        cum = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cum, top_p)) + 1]
        q = p[keep] / p[keep].sum()
        return int(keep[rng.choice(len(keep), p=q)])
    return int(rng.choice(len(p), p=p))


def common_prefix_len(seqs: list[list[int]]) -> int:
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for i in range(n):
        t = first[i]
        if any(s[i] != t for s in seqs[1:]):
            return i
    return n


def _lcp(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    same = a[:n] == b[:n]
    return n if bool(same.all()) else int(np.argmin(same))


class Engine:
    """Runs groups of requests on one context whose sequences are split in two halves.

    A group works in one half while the other half still holds the previous group's
    sequences (prompt and generated tokens). Each new sequence starts from the longest
    prefix it finds among them, copied cell-sharing with seq_cp, so a helpfulness prompt
    that repeats a critique the model just wrote re-evaluates only its last few tokens.
    """

    def __init__(self, llama: "LlamaContext") -> None:
        self.llama = llama
        self.half = max(1, llama.shape.n_seq_max // 2)
        self._side = 0
        self._cache: dict[int, np.ndarray] = {}  # seq id -> the tokens its cells hold from pos 0

    @property
    def max_sequences(self) -> int:
        return self.half

    def cells_needed(self, group: list[GenRequest]) -> int:
        prefix = common_prefix_len([r.prompt_tokens for r in group])
        prefix = min(prefix, min(len(r.prompt_tokens) for r in group) - 1)
        return prefix + sum(len(r.prompt_tokens) - prefix + r.max_tokens for r in group)

    def plan(self, requests: list[GenRequest]) -> list[list[GenRequest]]:
        """Split requests into groups that fit the sequences and cells of the context."""
        groups: list[list[GenRequest]] = []
        current: list[GenRequest] = []
        for r in requests:
            if r.needs_prompt_logits:
                groups.append([r])  # echo with log-probs needs logits at every prompt position
                continue
            trial = [*current, r]
            if current and (
                len(trial) > self.max_sequences or self.cells_needed(trial) > self.llama.n_ctx
            ):
                groups.append(current)
                trial = [r]
            current = trial
        if current:
            groups.append(current)
        return groups

    def run(self, requests: list[GenRequest]) -> list[GenResult]:
        results: dict[int, GenResult] = {}
        order = {id(r): i for i, r in enumerate(requests)}
        try:
            for group in self.plan(requests):
                for r, res in zip(group, self._run_group(group), strict=True):
                    results[order[id(r)]] = res
        except BaseException:
            # A failed group may leave half-written cells behind; a later request must not
            # find the cache full or reuse them.
            self.reset()
            raise
        return [results[i] for i in range(len(requests))]

    def reset(self) -> None:
        """Free every sequence and forget the prefix cache."""
        self.llama.clear()
        self._cache = {}

    def _cached_cells(self) -> int:
        """Cells the cache occupies: shared prefixes count once."""
        seqs = list(self._cache.values())
        total = 0
        for i, toks in enumerate(seqs):
            total += len(toks) - max((_lcp(toks, other) for other in seqs[:i]), default=0)
        return total

    def _best_cached(self, tokens: np.ndarray, limit: int) -> tuple[int | None, int]:
        src, length = None, 0
        for seq, held in self._cache.items():
            n = min(_lcp(held, tokens), limit)
            if n > length:
                src, length = seq, n
        return src, length

    def _place_prompts(self, group: list[GenRequest], dst: list[int]) -> list[int]:
        """Fill each destination sequence with as much of its prompt as the cache or the
        group's shared prefix gives; returns where each prompt's own evaluation starts."""
        llama = self.llama
        prompts = [np.asarray(r.prompt_tokens) for r in group]
        if group[0].needs_prompt_logits:
            return [0]
        # Every sequence keeps at least one token of its own, whose logits start it off.
        shared = min(
            common_prefix_len([r.prompt_tokens for r in group]), min(len(p) for p in prompts) - 1
        )
        src, have = self._best_cached(prompts[0], shared)
        if src is not None:
            llama.seq_cp(src, dst[0], 0, have)
        if shared > have:
            llama.decode(
                [
                    (int(t), p, (dst[0],), False)
                    for p, t in enumerate(prompts[0][have:shared], start=have)
                ]
            )
        starts = [shared] * len(group)
        for i in range(1, len(group)):
            llama.seq_cp(dst[0], dst[i], 0, shared)
        for i, prompt in enumerate(prompts):
            src, have = self._best_cached(prompt, len(prompt) - 1)
            if src is not None and have > shared:
                llama.seq_rm(dst[i])
                llama.seq_cp(src, dst[i], 0, have)
                starts[i] = have
        return starts

    def _run_group(self, group: list[GenRequest]) -> list[GenResult]:
        llama = self.llama
        n = len(group)
        held = self._cached_cells()
        if group[0].needs_prompt_logits or self.cells_needed(group) + held > llama.n_ctx:
            llama.clear()
            self._cache = {}
        self._side = 1 - self._side
        dst = [self._side * self.half + i for i in range(n)]
        starts = self._place_prompts(group, dst)
        for old in self._cache:  # cells still used by the new sequences stay
            llama.seq_rm(old)
        self._cache = {}

        # Each request's own rest of the prompt, all in one batch; logits at its last token.
        items: list[tuple[int, int, tuple[int, ...], bool]] = []
        last_item: list[int] = []
        prompt_items: list[list[int]] = []
        for i, r in enumerate(group):
            own: list[int] = []
            for pos in range(starts[i], len(r.prompt_tokens)):
                want = pos == len(r.prompt_tokens) - 1 or r.needs_prompt_logits
                own.append(len(items))
                items.append((r.prompt_tokens[pos], pos, (dst[i],), want))
            last_item.append(own[-1])
            prompt_items.append(own)
        logits_by_item = llama.decode(items)

        results: list[GenResult] = []
        for i, r in enumerate(group):
            prompt_lp: list[TokenLogprob | None] | None = None
            if r.needs_prompt_logits:
                prompt_lp = [None]
                for k in range(1, len(r.prompt_tokens)):
                    lp = log_softmax(logits_by_item[prompt_items[i][k - 1]])
                    tok = r.prompt_tokens[k]
                    prompt_lp.append(TokenLogprob(tok, float(lp[tok]), _top(lp, r.logprobs or 0)))
            results.append(GenResult([], b"", "length", [], prompt_lp))

        fed = [list(r.prompt_tokens) for r in group]  # what each sequence's cells hold
        rngs = [np.random.default_rng(r.seed) for r in group]
        logits = {i: logits_by_item[last_item[i]] for i in range(n)}
        active = [i for i in range(n) if group[i].max_tokens > 0]
        while active:
            next_items: list[tuple[int, int, tuple[int, ...], bool]] = []
            still: list[int] = []
            for i in active:
                r, res = group[i], results[i]
                tok = sample(logits[i], r.temperature, r.top_p, rngs[i])
                if r.logprobs is not None:
                    # The end-of-generation token is reported too (as vLLM does), so a
                    # one-token scoring request always has its next-token distribution.
                    lp = log_softmax(logits[i])
                    res.logprobs.append(TokenLogprob(tok, float(lp[tok]), _top(lp, r.logprobs)))
                res.tokens.append(tok)
                if llama.is_eog(tok):
                    res.finish_reason = "stop"
                    continue
                res.text += llama.piece(tok)
                if r.stop and self._hit_stop(res, r.stop):
                    continue
                if len(res.tokens) >= r.max_tokens:
                    res.finish_reason = "length"
                    continue
                next_items.append((tok, len(fed[i]), (dst[i],), True))
                fed[i].append(tok)
                still.append(i)
            if not next_items:
                break
            out = llama.decode(next_items)
            logits = {i: out[k] for k, i in enumerate(still)}
            active = still
        self._cache = {dst[i]: np.asarray(fed[i]) for i in range(n)}
        return results

    @staticmethod
    def _hit_stop(res: GenResult, stops: list[str]) -> bool:
        text = res.text.decode("utf-8", "ignore")
        cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
        if cut < 0:
            return False
        res.text = text[:cut].encode("utf-8")
        res.finish_reason = "stop"
        return True

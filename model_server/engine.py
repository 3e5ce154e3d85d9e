"""Batched generation over one llama.cpp context.

A *group* is a list of requests decoded together. Their longest common prompt prefix is
evaluated once (and kept in sequence 0 for the next group, so a sweep followed by its
scoring prompts pays for the passage once); each request then gets its own sequence that
shares the prefix cells, its suffix is evaluated in one batch, and every decoding step
advances all unfinished sequences in one llama_decode call, each sampled with its own
temperature, top_p and seed. Log-probs are the raw distribution, before temperature.
"""

from dataclasses import dataclass, field

import numpy as np

from model_server.llama import LlamaContext


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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x -= x.max()
    return x - np.log(np.exp(x).sum())


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


class Engine:
    def __init__(self, llama: LlamaContext) -> None:
        self.llama = llama
        self._cached_prefix: list[int] = []  # tokens held in sequence 0 between groups

    @property
    def max_sequences(self) -> int:
        return self.llama.shape.n_seq_max

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
        for group in self.plan(requests):
            for r, res in zip(group, self._run_group(group), strict=True):
                results[order[id(r)]] = res
        return [results[i] for i in range(len(requests))]

    def _reuse_prefix(self, prefix: list[int]) -> int:
        """Keep the cached prefix cells that the new prefix shares; drop everything else."""
        for s in range(1, self.max_sequences):
            self.llama.seq_rm(s)
        reuse = common_prefix_len([self._cached_prefix, prefix]) if self._cached_prefix else 0
        self.llama.seq_rm(0, reuse, -1)
        self._cached_prefix = self._cached_prefix[:reuse]
        return reuse

    def _run_group(self, group: list[GenRequest]) -> list[GenResult]:
        llama = self.llama
        n = len(group)
        prompts = [r.prompt_tokens for r in group]
        if group[0].needs_prompt_logits:
            prefix_len = 0
            llama.clear()
            self._cached_prefix = []
        else:
            # Every sequence keeps at least one token of its own, whose logits start it off.
            prefix_len = min(common_prefix_len(prompts), min(len(p) for p in prompts) - 1)
        prefix = prompts[0][:prefix_len]
        reuse = self._reuse_prefix(prefix) if prefix_len else self._reuse_prefix([])

        if prefix_len > reuse:
            llama.decode([(t, p, (0,), False) for p, t in enumerate(prefix[reuse:], start=reuse)])
        self._cached_prefix = list(prefix)
        for s in range(1, n):
            llama.seq_cp(0, s, 0, prefix_len)

        # Each request's own suffix, all in one batch; logits at each sequence's last token.
        items: list[tuple[int, int, tuple[int, ...], bool]] = []
        last_item: list[int] = []
        prompt_items: list[list[int]] = []
        for s, r in enumerate(group):
            own: list[int] = []
            for pos in range(prefix_len, len(r.prompt_tokens)):
                want = pos == len(r.prompt_tokens) - 1 or r.needs_prompt_logits
                own.append(len(items))
                items.append((r.prompt_tokens[pos], pos, (s,), want))
            last_item.append(own[-1])
            prompt_items.append(own)
        logits_by_item = llama.decode(items)

        results: list[GenResult] = []
        for s, r in enumerate(group):
            prompt_lp = None
            if r.needs_prompt_logits:
                prompt_lp = [None]
                for k in range(1, len(r.prompt_tokens)):
                    lp = log_softmax(logits_by_item[prompt_items[s][k - 1]])
                    tok = r.prompt_tokens[k]
                    prompt_lp.append(TokenLogprob(tok, float(lp[tok]), _top(lp, r.logprobs or 0)))
            results.append(GenResult([], b"", "length", [], prompt_lp))

        rngs = [np.random.default_rng(r.seed) for r in group]
        logits = {s: logits_by_item[last_item[s]] for s in range(n)}
        positions = [len(r.prompt_tokens) for r in group]
        active = [s for s in range(n) if group[s].max_tokens > 0]
        while active:
            next_items: list[tuple[int, int, tuple[int, ...], bool]] = []
            still: list[int] = []
            for s in active:
                r, res = group[s], results[s]
                tok = sample(logits[s], r.temperature, r.top_p, rngs[s])
                if llama.is_eog(tok):
                    res.finish_reason = "stop"
                    continue
                if r.logprobs is not None:
                    lp = log_softmax(logits[s])
                    res.logprobs.append(TokenLogprob(tok, float(lp[tok]), _top(lp, r.logprobs)))
                res.tokens.append(tok)
                res.text += llama.piece(tok)
                if r.stop and self._hit_stop(res, r.stop):
                    continue
                if len(res.tokens) >= r.max_tokens:
                    res.finish_reason = "length"
                    continue
                next_items.append((tok, positions[s], (s,), True))
                positions[s] += 1
                still.append(s)
            if not next_items:
                break
            out = llama.decode(next_items)
            logits = {s: out[k] for k, s in enumerate(still)}
            active = still
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

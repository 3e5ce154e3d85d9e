"""Versioned prompt formats. A stored critique records the version that produced it.

- paper-v1: the raw layout of fine-tuned critique models in the paper (passage, question,
  answer, then the task word), read through /v1/completions.
- chat-v1: the same content as chat messages for instruction-tuned models, through
  /v1/chat/completions.

Critique, helpfulness and critiqueability prompts of one answer begin with the same text
(passage, question, answer), so a backend with prefix caching evaluates the passage once.
"""

from dataclasses import dataclass
from typing import Literal

Kind = Literal["completion", "chat"]


@dataclass(frozen=True)
class Prompt:
    kind: Kind
    text: str = ""
    messages: tuple[tuple[str, str], ...] = ()
    stop: tuple[str, ...] = ()

    def chat_messages(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]


@dataclass(frozen=True)
class Context:
    passage: str
    question: str
    answer: str = ""
    title: str | None = None


class PromptFormat:
    version: str
    kind: Kind

    def answer(self, c: Context) -> Prompt:
        raise NotImplementedError

    def critique(self, c: Context) -> Prompt:
        raise NotImplementedError

    def helpfulness(self, c: Context, critique: str) -> Prompt:
        raise NotImplementedError

    def critiqueability(self, c: Context) -> Prompt:
        raise NotImplementedError


class PaperFormat(PromptFormat):
    version = "paper-v1"
    kind: Kind = "completion"

    def _head(self, c: Context) -> str:
        title = f"{c.title}\n\n" if c.title else ""
        return f"{title}{c.passage}\n\nQuestion: {c.question}\n\n"

    def answer(self, c: Context) -> Prompt:
        return Prompt("completion", self._head(c) + "Answer:", stop=("\n\n",))

    def critique(self, c: Context) -> Prompt:
        return Prompt("completion", f"{self._head(c)}Answer: {c.answer}\n\nCritique:", stop=("\n",))

    def helpfulness(self, c: Context, critique: str) -> Prompt:
        return Prompt(
            "completion", f"{self._head(c)}Answer: {c.answer}\n\nCritique: {critique}\n\nHelpful:"
        )

    def critiqueability(self, c: Context) -> Prompt:
        return Prompt("completion", f"{self._head(c)}Answer: {c.answer}\n\nCritiqueable:")


_SYSTEM = "You review answers to questions about a text. Be brief and precise."


class ChatFormat(PromptFormat):
    version = "chat-v1"
    kind: Kind = "chat"

    def _material(self, c: Context, with_answer: bool = True) -> str:
        title = f"Title: {c.title}\n" if c.title else ""
        answer = f"\n\nAnswer: {c.answer}" if with_answer else ""
        return f"{title}Text:\n{c.passage}\n\nQuestion: {c.question}{answer}"

    def _ask(self, material: str, instruction: str) -> Prompt:
        return Prompt(
            "chat", messages=(("system", _SYSTEM), ("user", f"{material}\n\n{instruction}"))
        )

    def answer(self, c: Context) -> Prompt:
        return self._ask(
            self._material(c, with_answer=False),
            "Answer the question in a few sentences, using only the text.",
        )

    def critique(self, c: Context) -> Prompt:
        return self._ask(
            self._material(c),
            "Write one short critique of the answer: a specific inaccuracy, omission or coherence "
            "problem. Reply with the critique only.",
        )

    def helpfulness(self, c: Context, critique: str) -> Prompt:
        # The critique as the assistant's own turn: the conversation repeats the critique
        # prompt word for word, so a caching backend re-reads only the question at the end.
        asked = self.critique(c).messages
        return Prompt(
            "chat",
            messages=(
                *asked,
                ("assistant", critique),
                (
                    "user",
                    "Is this critique helpful, pointing out a real flaw in the answer? Reply with Yes or No.",
                ),
            ),
        )

    def critiqueability(self, c: Context) -> Prompt:
        return self._ask(
            self._material(c),
            "Does this answer have a flaw worth pointing out? Reply with Yes or No.",
        )


FORMATS: dict[str, PromptFormat] = {"paper": PaperFormat(), "chat": ChatFormat()}


def prompt_format(name: str) -> PromptFormat:
    try:
        return FORMATS[name]
    except KeyError as exc:
        raise ValueError(f"unknown prompt format {name!r}; use one of {sorted(FORMATS)}") from exc

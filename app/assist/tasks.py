"""Assistance jobs: read what they need, call the model with no transaction open, then store.
Registered with the queue's registry at import (app.tasks imports this module)."""

import random
from typing import Any

from app.assist import client as backend
from app.assist.client import model_client
from app.assist.prompts import prompt_format
from app.assist.repository import AssistRepository
from app.assist.service import (
    ASSISTANCE,
    MODEL_ANSWER,
    context_of_answer,
    context_of_question,
    store_assistance,
    store_model_answer,
)
from app.assist.sweep import critique_sweep, model_answer
from app.core.database import session_scope
from app.core.errors import NotFound
from app.core.settings import get_settings
from app.jobs import registry


async def generate_assistance(payload: dict[str, Any]) -> None:
    answer_id = int(payload["answer_id"])
    settings = get_settings()
    fmt = prompt_format(settings.prompt_format)
    with session_scope(writes=False) as s:
        repo = AssistRepository(s)
        if repo.assistance_set(answer_id, settings.model_name, fmt.version) is not None:
            return
        answer = repo.answer_with_context(answer_id)
        if answer is None:
            raise NotFound(f"answer {answer_id} no longer exists")
        ctx = context_of_answer(answer)
    async with model_client() as client:
        assistance = await critique_sweep(client, fmt, ctx, settings.critique_max_tokens)
    with session_scope() as s:
        store_assistance(s, answer_id, assistance)


async def generate_model_answer(payload: dict[str, Any]) -> None:
    question_id = int(payload["question_id"])
    settings = get_settings()
    fmt = prompt_format(settings.prompt_format)
    with session_scope(writes=False) as s:
        question = AssistRepository(s).question_with_passage(question_id)
        if question is None:
            raise NotFound(f"question {question_id} no longer exists")
        ctx = context_of_question(question)
    async with model_client() as client:
        text, temperature = await model_answer(client, fmt, ctx, random.Random())
    with session_scope() as s:
        store_model_answer(s, question_id, text, temperature, settings.model_name, fmt.version)


registry.register(ASSISTANCE, generate_assistance, needs_model=True)
registry.register(MODEL_ANSWER, generate_model_answer, needs_model=True)
registry.register_backend(probe=backend.probe, health=backend.health)

"""A synthetic experiment run through the real services, with effects planted in the labelers.

Each answer hides `flaws` flaws (flaw 0 of a misleading answer is the one its author
intended). A labeler finds each flaw with `find_rate`, or `assist_find_rate` when
assisted; assisted, they take the model's critique of a found flaw with `use_rate` and
edit it with `edit_rate`. Each critique is judged valid with `valid_rate`. Tasks take
`minutes` / `assist_minutes` on average. Everything goes through the app's services:
writing tasks, experiment design and launch, assignment, critiques, submit, reviews.

Labelers write their own critiques in their own words, and submit the provenance the task
page would report (typing at 3-7 characters a second, now and then a short pasted quote,
short times away and, rarely, a long break). Contamination is planted too: the first
`contaminated_share` of the labelers (labeler0, labeler1, ...), in their no-assist tasks,
leave the page for a while and paste near copies of the model's critiques of the answer
(each flaw with `contaminated_find_rate`), as someone asking a chatbot would. Its draws come
from a second generator, so without contamination the rest is drawn as before.
"""

import random
import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assist.prompts import prompt_format
from app.assist.scoring import Score
from app.assist.service import store_assistance
from app.assist.sweep import Assistance, SweptCritique
from app.core.settings import get_settings
from app.corpus.repository import CorpusRepository
from app.experiments import assignment, design
from app.integrity.schemas import ProvenanceIn
from app.labeling import service as labeling
from app.labeling.schemas import CritiqueFields, CritiqueIn, SubmitIn
from app.models import Answer, AssistanceCritique, AssistanceSet, Category, Task, User
from app.review import service as reviews
from app.review import view as review_view
from app.review.schemas import CritiqueVerdict, LabelerVerdict, ReviewIn
from app.users.service import create_user
from app.writing import service as writing
from app.writing.schemas import WritingIn

TEMPERATURES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0)


@dataclass(frozen=True)
class SimParams:
    name: str = "simulated"
    passages: int = 30
    labelers: int = 12
    writers: int = 3
    flaws: int = 4
    find_rate: float = 0.25
    assist_find_rate: float = 0.40
    use_rate: float = 0.6
    edit_rate: float = 0.15
    valid_rate: float = 0.75
    minutes: float = 10.0
    assist_minutes: float = 12.0
    seed: int = 0
    contaminated_share: float = 0.0
    contaminated_find_rate: float = 0.9


# Labelers' own words for a flaw: none is a near copy of the model's critique of it.
_OWN_WORDS = (
    "the summary gets the order of events backwards.",
    "the answer names the wrong person here.",
    "this claim is not in the passage at all.",
    "the date in the answer contradicts the text.",
    "it leaves out the part that matters most.",
)
_NEAR_COPY_EDITS = ("", " (checked)", " I think.", " See the text.")


def contaminated_labelers(p: SimParams) -> list[str]:
    """The labelers who, unassisted, paste the model's critiques (the planted contamination)."""
    return [f"{p.name}-labeler{i}" for i in range(round(p.contaminated_share * p.labelers))]


@dataclass
class _Pen:
    """Draws how one labeler's critiques of one task got written (the page's provenance)."""

    rng: random.Random
    contaminated: bool
    critiques: list[dict[str, object]] = field(default_factory=list)
    away_s: float = 0.0
    departures: int = 0

    def typed(self, text: str, pasted: int = 0) -> None:
        typed = len(text) - pasted
        entry: dict[str, object] = {
            "position": len(self.critiques) + 1,
            "typed_chars": typed,
            "typing_s": round(typed / self.rng.uniform(3.0, 7.0), 2),
            "first_key_s": round(self.rng.uniform(5, 300), 1),
        }
        if pasted:
            entry["pasted_chars"] = pasted
            entry["pastes"] = [{"chars": pasted, "at_s": round(self.rng.uniform(5, 300), 1)}]
        self.critiques.append(entry)

    def used(self, edits: int) -> None:
        self.critiques.append(
            {"position": len(self.critiques) + 1, "typed_chars": edits, "edits_after_use": edits}
        )

    def own(self, text: str) -> None:
        # Now and then a short quote from the passage is pasted into an own critique.
        quote = self.rng.randint(12, 25) if self.rng.random() < 0.1 else 0
        self.typed(text, min(quote, len(text) // 3))

    def near_copy(self, model_text: str) -> str:
        text = model_text.lower() + self.rng.choice(_NEAR_COPY_EDITS)
        self.critiques.append(
            {
                "position": len(self.critiques) + 1,
                "typed_chars": len(text) - len(model_text),
                "pasted_chars": len(model_text),
                "pastes": [{"chars": len(model_text), "at_s": round(self.rng.uniform(20, 400), 1)}],
                "first_key_s": round(self.rng.uniform(20, 400), 1),
            }
        )
        return text

    def report(self, assisted: bool) -> ProvenanceIn:
        self.departures = self.rng.randint(0, 3)
        self.away_s = sum(self.rng.expovariate(1 / 8.0) for _ in range(self.departures))
        if self.rng.random() < 0.03:  # a long break, the same in either arm
            self.departures += 1
            self.away_s += self.rng.uniform(60, 400)
        if self.contaminated and not assisted:  # off to ask a chatbot
            self.departures += 1
            self.away_s += self.rng.uniform(30, 240)
        return ProvenanceIn.model_validate(
            {
                "away_s": round(self.away_s, 1),
                "departures": self.departures,
                "critiques": self.critiques,
            }
        )


def _flaw_text(flaw: int, answer_id: int) -> str:
    return f"Flaw {flaw} of answer {answer_id}: the answer gets this detail wrong."


def _flaw_of(text: str) -> int | None:
    found = re.match(r"(?i)flaw (\d+)", text)
    return int(found.group(1)) if found else None


def simulate(session: Session, p: SimParams, progress=None) -> int:  # type: ignore[no-untyped-def]
    """Build, label and review one synthetic experiment; returns its id."""
    rng = random.Random(p.seed)
    labelers = [f"{p.name}-labeler{i}" for i in range(p.labelers)]
    writers = [f"{p.name}-writer{i}" for i in range(p.writers)]
    for name in labelers + writers:
        create_user(session, name, f"{name}-password", "labeler")
    repo = CorpusRepository(session)
    question_ids = []
    for i in range(p.passages):
        passage, _ = repo.get_or_create_passage(
            f"{p.name} passage {i}", f"Synthetic passage {i} of {p.name}. " * 20
        )
        question, _ = repo.get_or_create_question(passage, "Summarize the passage.")
        repo.get_or_create_answer(
            question,
            "model",
            f"Model summary of {p.name} passage {i}.",
            temperature=rng.choice([t / 10 for t in range(11)]),
            model_name="simulated",
        )
        question_ids.append(question.id)
        writer = writers[i % len(writers)]
        (task,) = writing.assign(session, writer, [question.id])
        writing.submit(
            session,
            task.writer_id,
            task.id,
            WritingIn(
                honest_text=f"Honest summary of {p.name} passage {i}.",
                misleading_text=f"Subtly wrong summary of {p.name} passage {i}.",
                intended_critiques=[
                    CritiqueFields(
                        text="Flaw 0: the hidden mistake.", severity=3, category=Category.accuracy
                    )
                ],
            ),
        )
    exp = design.create(
        session,
        design.Design(
            name=p.name,
            sources=design.ALL_SOURCES,
            labelers=labelers,
            question_ids=question_ids,
            seed=p.seed,
        ),
    )
    design.launch(session, exp.id)
    settings = get_settings()
    version = prompt_format(settings.prompt_format).version
    answer_ids = session.scalars(
        select(Answer.id).where(Answer.question_id.in_(question_ids))
    ).all()
    for aid in answer_ids:
        # One model critique per flaw, then noise; sorted by a made-up helpfulness score.
        texts = [_flaw_text(f, aid) for f in range(p.flaws)]
        texts += [f"Generic remark {k} on answer {aid}." for k in range(8 - len(texts))]
        store_assistance(
            session,
            aid,
            Assistance(
                [
                    SweptCritique(text, t, Score(round(0.95 - 0.1 * k, 3)), k + 1, 0.0)
                    for k, (text, t) in enumerate(zip(texts, TEMPERATURES, strict=False))
                ],
                Score(0.8),
                settings.model_name,
                version,
            ),
        )
    uid: dict[str, int] = dict(session.execute(select(User.username, User.id)).tuples().all())
    words = random.Random(p.seed + 1)  # provenance and contamination: a stream of their own
    contaminated = {uid[name] for name in contaminated_labelers(p)}
    done = 0
    while True:
        progressed = False
        for name in labelers:
            got = assignment.next_task(session, uid[name])
            if got.task_id is None:
                continue
            progressed = True
            pen = _Pen(words, uid[name] in contaminated)
            _label(session, rng, p, uid[name], got.task_id, pen)
            done += 1
            if progress is not None:
                progress(done)
        if not progressed:
            break
    for review in review_view.listing(session, exp.id):
        _review(session, rng, p, review.id, uid[review.reviewer])
    return exp.id


def _label(
    session: Session,
    rng: random.Random,
    p: SimParams,
    user_id: int,
    task_id: int,
    pen: _Pen,
) -> None:
    task = session.get(Task, task_id)
    assert task is not None
    assisted = task.assistance_set_id is not None
    rate = p.assist_find_rate if assisted else p.find_rate
    shown = {}
    if assisted:
        shown = {
            _flaw_of(a.text): a
            for a in session.scalars(
                select(AssistanceCritique).where(
                    AssistanceCritique.assistance_set_id == task.assistance_set_id
                )
            )
        }
    if pen.contaminated and not assisted:
        found = _paste_model_critiques(session, p, user_id, task, pen)
        _submit(session, rng, p, user_id, task, found, pen)
        return
    found = [f for f in range(p.flaws) if rng.random() < rate]
    for flaw in found:
        if assisted and flaw in shown and rng.random() < p.use_rate:
            c = labeling.use_assistance(session, user_id, task_id, shown[flaw].id)
            edited = rng.random() < p.edit_rate
            pen.used(len(" (checked in the text)") if edited else 0)
            if edited:
                labeling.update_critique(
                    session,
                    user_id,
                    task_id,
                    c.id,
                    CritiqueIn(
                        text=c.text + " (checked in the text)",
                        severity=3,
                        category=Category.accuracy,
                    ),
                )
        else:
            text = f"Flaw {flaw}: {pen.rng.choice(_OWN_WORDS)}"
            pen.own(text)
            labeling.add_critique(
                session,
                user_id,
                task_id,
                CritiqueIn(
                    text=text,
                    severity=rng.randint(1, 4),
                    category=rng.choice([Category.accuracy, Category.coverage, Category.coherence]),
                ),
            )
    _submit(session, rng, p, user_id, task, found, pen)


def _paste_model_critiques(
    session: Session, p: SimParams, user_id: int, task: Task, pen: _Pen
) -> list[int]:
    """Planted contamination: near copies of the model's critiques of this answer."""
    model = {
        _flaw_of(text): text
        for text in session.scalars(
            select(AssistanceCritique.text)
            .join(AssistanceSet, AssistanceSet.id == AssistanceCritique.assistance_set_id)
            .where(AssistanceSet.answer_id == task.answer_id)
        )
    }
    found = [
        f for f in range(p.flaws) if f in model and pen.rng.random() < p.contaminated_find_rate
    ]
    for flaw in found:
        text = pen.near_copy(model[flaw])
        labeling.add_critique(
            session,
            user_id,
            task.id,
            CritiqueIn(text=text, severity=3, category=Category.accuracy),
        )
    return found


def _submit(
    session: Session,
    rng: random.Random,
    p: SimParams,
    user_id: int,
    task: Task,
    found: list[int],
    pen: _Pen,
) -> None:
    assisted = task.assistance_set_id is not None
    rating = max(1, min(7, 7 - len(found) + rng.choice([-1, 0, 0, 1])))
    body = SubmitIn(rating=rating, confirm_no_critiques=True, provenance=pen.report(assisted))
    labeling.submit(session, user_id, task.id, body)
    minutes = rng.expovariate(1.0 / (p.assist_minutes if assisted else p.minutes))
    assert task.submitted_at is not None
    task.opened_at = task.submitted_at - timedelta(minutes=minutes)
    task.assigned_at = task.opened_at - timedelta(seconds=5)
    session.flush()


def _review(
    session: Session, rng: random.Random, p: SimParams, review_id: int, reviewer: int
) -> None:
    view = review_view.view(session, reviewer, review_id)
    intended = [int(ic["id"]) for ic in view.intended]  # type: ignore[call-overload]
    labelers, critiques = [], []
    for lab in view.labelers:
        flaws = {_flaw_of(c.text) for c in lab.critiques}
        covers = intended[:1] if 0 in flaws else []
        labelers.append(LabelerVerdict(task_id=lab.task_id, covers=covers, none=not covers))
        for c in lab.critiques:
            valid = rng.random() < p.valid_rate
            critiques.append(
                CritiqueVerdict(
                    critique_id=c.id, valid=valid, novel=valid and _flaw_of(c.text) != 0
                )
            )
    reviews.submit(session, reviewer, review_id, ReviewIn(labelers=labelers, critiques=critiques))

"""The new-experiment form: its fields, the design they make, and a fill check before creating."""

import random
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Form, Query
from sqlalchemy.orm import Session

from app.core.errors import AppError
from app.core.validation import DbId, FiniteFloat
from app.experiments import design
from app.experiments.labeler_picker import PAGE_SIZE as LABELER_PAGE_SIZE
from app.experiments.labeler_picker import active_labelers, labelers_page
from app.experiments.selection import PAGE_SIZE, Filter, Rule, choose_questions, passages_page

MAX_EXPIRY_HOURS = 365 * 24  # a year: longer is a typo


def new_seed() -> int:
    return random.SystemRandom().randrange(2**31)


@dataclass
class DesignForm:
    name: str = ""
    sources: list[str] = field(default_factory=lambda: list(design.ALL_SOURCES))
    labelers: list[str] = field(default_factory=list)
    passages: list[int] = field(default_factory=list)  # hand-picked passages
    search: str = ""
    # What the page starts with; a post without these fields means every question.
    only_complete: bool = True
    rule: Rule = Rule.one_per_passage
    n_passages: int | None = None
    seed: int = field(default_factory=new_seed)
    labelers_per_condition: int = 1
    expiry_hours: float = 4.0

    @property
    def filter(self) -> Filter:
        return Filter(self.search, self.sources, self.only_complete, self.passages)

    def to_design(self, session: Session) -> design.Design:
        narrowed = self.search.strip() or self.passages or self.only_complete
        qids = None  # every question
        if narrowed or self.rule != Rule.every_question:
            qids = choose_questions(session, self.filter, self.rule, self.seed, self.n_passages)
        return design.Design(
            name=self.name,
            sources=self.sources,
            labelers=self.labelers,
            question_ids=qids,
            labelers_per_condition=self.labelers_per_condition,
            task_expiry_s=int(self.expiry_hours * 3600),
            seed=self.seed,
        )


def design_form(
    name: Annotated[str, Form()] = "",
    sources: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI form default)
    labelers: Annotated[list[str], Form()] = [],  # noqa: B006
    passages: Annotated[list[DbId], Form()] = [],  # noqa: B006
    search: Annotated[str, Form(max_length=200)] = "",
    only_complete: Annotated[bool, Form()] = False,
    rule: Annotated[Rule, Form()] = Rule.every_question,
    n_passages: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
    seed: Annotated[int | None, Form(ge=0, lt=2**31)] = None,
    labelers_per_condition: Annotated[int, Form(ge=1, le=1000)] = 1,
    expiry_hours: Annotated[FiniteFloat, Form(gt=0, le=MAX_EXPIRY_HOURS)] = 4.0,
) -> DesignForm:
    return DesignForm(
        name,
        sources,
        labelers,
        passages,
        search,
        only_complete,
        rule,
        n_passages,
        seed if seed is not None else new_seed(),
        labelers_per_condition,
        expiry_hours,
    )


DesignFormDep = Annotated[DesignForm, Depends(design_form)]


def filter_query(
    search: Annotated[str, Query(max_length=200)] = "",
    sources: Annotated[list[str], Query()] = [],  # noqa: B006
    only_complete: Annotated[bool, Query()] = False,
    passages: Annotated[list[DbId], Query()] = [],  # noqa: B006
) -> DesignForm:
    """The form's passage filter, from the query of the htmx request that pages through it."""
    return DesignForm(
        sources=sources, passages=passages, search=search, only_complete=only_complete
    )


FilterQueryDep = Annotated[DesignForm, Depends(filter_query)]


def page_context(
    session: Session, chosen: DesignForm, page: int = 0, new: bool = False
) -> dict[str, object]:
    """The form's context; a new form starts with every labeler, which fills the demo."""
    if new:
        chosen.labelers = active_labelers(session)
    labelers = labelers_page(session, "", 0, chosen.labelers)
    # The list shows every passage the search keeps; ticked ones are marked, not filtered.
    listed = Filter(chosen.search, chosen.sources, chosen.only_complete)
    rows, total = passages_page(session, listed, page)
    return {
        "labelers": labelers,
        "labeler_search": "",
        "labeler_page_size": LABELER_PAGE_SIZE,
        "sources": design.ALL_SOURCES,
        "rules": Rule,
        "chosen": chosen,
        "passages": rows,
        "passages_total": total,
        "page": page,
        "page_size": PAGE_SIZE,
    }


@dataclass(frozen=True)
class FillCheck:
    questions: int | None  # None: every question
    problems: list[str]


def fill_check(session: Session, chosen: DesignForm) -> FillCheck:
    """Whether the design can be filled, by making it in a savepoint that is rolled back."""
    d = chosen.to_design(session)
    d = design.Design(**{**d.__dict__, "name": d.name.strip() or "(fill check)"})
    n = None if d.question_ids is None else len(set(d.question_ids))
    savepoint = session.begin_nested()
    try:
        exp = design.create(session, d)
        return FillCheck(n, design.fill_problems(session, exp.id))
    except AppError as exc:
        return FillCheck(n, [exc.message])
    finally:
        savepoint.rollback()

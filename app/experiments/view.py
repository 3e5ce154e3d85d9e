"""The admin's read model of one experiment: its page and the progress fragment."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.experiments import design, progress
from app.models import Condition, ExperimentLabeler, ExperimentQuestion, User
from app.review import view as reviews


def detail(db: Session, exp_id: int) -> dict[str, object]:
    """What the experiment page and its progress fragment show."""
    exp = design.get(db, exp_id)
    pool = db.scalars(
        select(User.username)
        .join(ExperimentLabeler, ExperimentLabeler.user_id == User.id)
        .where(ExperimentLabeler.experiment_id == exp_id)
        .order_by(User.username)
    ).all()
    n_questions = db.scalar(
        select(func.count())
        .select_from(ExperimentQuestion)
        .where(ExperimentQuestion.experiment_id == exp_id)
    )
    conditions = db.scalars(select(Condition).where(Condition.experiment_id == exp_id)).all()
    return {
        "exp": exp,
        "pool": pool,
        "n_questions": n_questions,
        "conditions": conditions,
        "progress": progress.by_condition(db, exp_id),
        "labelers": progress.labeler_work(db, exp_id),
        "open_tasks": progress.open_tasks(db, exp_id),
        "problems": design.fill_problems(db, exp_id),
        "reviews": reviews.counts(db, exp_id),
    }

"""The labeler's end page: why there is no task now, in the server's words, and where each
of their experiments stands."""

from dataclasses import dataclass

from app.experiments.assignment import END_REASONS
from app.experiments.progress import LabelerProgress
from app.models import ExperimentStatus

# Why an experiment hands out nothing, beside its status.
STATUS_NOTES = {
    ExperimentStatus.draft: "not started yet",
    ExperimentStatus.launched: "running",
    ExperimentStatus.paused: "paused by the organisers; its tasks come back when it resumes",
    ExperimentStatus.completed: "closed: every task is done",
}


@dataclass(frozen=True)
class EndReason:
    title: str
    sentence: str
    retry: bool  # asking again soon may give a task


def end_reason(code: str | None, experiments: list[LabelerProgress]) -> EndReason:
    """What the end page says: the code the assignment gave, made specific when it is "no
    running experiment" (paused, closed, not started, or none at all)."""
    if code in ("busy", "waiting_assistance"):
        return EndReason("No task right now", END_REASONS[code], retry=True)
    if code == "passage_rule":
        return EndReason("You are done here", END_REASONS[code], retry=False)
    if code == "all_done":
        return EndReason("All tasks are done", END_REASONS[code], retry=False)
    statuses = {e.status for e in experiments}
    if not experiments:
        sentence = "you are not in any experiment yet; the organisers will add you"
    elif ExperimentStatus.launched in statuses:
        return EndReason("No task right now", "ask for your next task", retry=True)
    elif ExperimentStatus.paused in statuses:
        sentence = "your experiment is paused; its tasks come back when it resumes"
    elif ExperimentStatus.draft in statuses:
        sentence = "your experiment has not started yet"
    else:
        sentence = "your experiments are closed: every task is done"
    return EndReason("No task for you", sentence, retry=False)

"""The report page's cache: one stored report per (experiment, export content version).

The content version is read from what a submission writes anyway (a task's status and
submitted_at, a review's), so the submit path writes nothing extra: counting the submitted
tasks and reviews and taking their latest submission time changes whenever one is added.
The admin's exclusions and the integrity thresholds are in it too (the export carries them).
It is read *before* the export is, so a stored report holds at least what its version says;
a submission racing the computation can only make the page call the report stale, never
call a report current that lacks a submission.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.analysis.report import ANALYSIS_VERSION
from app.core.settings import get_settings
from app.integrity.flags import Thresholds
from app.jobs import queue
from app.models import Exclusion, IntendedCritiqueReview, ReviewStatus, Task, TaskStatus
from app.models.reports import COMPUTING, AnalysisReport, ReportStatus

REPORT_JOB = "analysis.report"


def job_key(report_id: int) -> str:
    return f"analysis-report-{report_id}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(when: datetime | None) -> str:
    """Microseconds since 1970 (short: the version is stored in 200 characters)."""
    if when is None:
        return "-"
    if when.tzinfo is None:  # SQLite's aggregates come back naive (UTC)
        when = when.replace(tzinfo=UTC)
    return str((when - _EPOCH) // timedelta(microseconds=1))


def content_version(session: Session, experiment_id: int) -> tuple[str, int]:
    """What the experiment's export holds, in a few words (a few indexed aggregates), and
    its number of submitted tasks."""
    tasks, last_task = session.execute(
        select(func.count(), func.max(Task.submitted_at)).where(
            Task.experiment_id == experiment_id, Task.status == TaskStatus.submitted
        )
    ).one()
    reviews, last_review = session.execute(
        select(func.count(), func.max(IntendedCritiqueReview.submitted_at)).where(
            IntendedCritiqueReview.experiment_id == experiment_id,
            IntendedCritiqueReview.status == ReviewStatus.submitted,
        )
    ).one()
    # The integrity flags follow from the tasks and the thresholds; exclusions are the admin's.
    exclusions, last_excluded, last_lifted = session.execute(
        select(func.count(), func.max(Exclusion.created_at), func.max(Exclusion.lifted_at)).where(
            Exclusion.experiment_id == experiment_id
        )
    ).one()
    thresholds = Thresholds.from_settings(get_settings()).key()
    version = (
        f"analysis {ANALYSIS_VERSION}; tasks {tasks}@{_stamp(last_task)}; "
        f"reviews {reviews}@{_stamp(last_review)}; exclusions {exclusions}@"
        f"{_stamp(last_excluded)}/{_stamp(last_lifted)}; flags {thresholds}"
    )
    return version, tasks


@dataclass(frozen=True)
class ReportState:
    """What the report page shows: the newest finished report and what is under way."""

    version: str  # the export's content version now
    tasks: int  # submitted tasks in the export now
    shown: AnalysisReport | None  # the newest ready report, current or not
    current: AnalysisReport | None  # the row for the current version, in any status

    @property
    def stale(self) -> bool:
        return self.shown is not None and self.shown.content_version != self.version

    @property
    def computing(self) -> bool:
        return self.current is not None and self.current.status in COMPUTING

    @property
    def failed(self) -> bool:
        return self.current is not None and self.current.status == ReportStatus.failed


def newest_ready(session: Session, experiment_id: int) -> AnalysisReport | None:
    return session.scalar(
        select(AnalysisReport)
        .where(
            AnalysisReport.experiment_id == experiment_id,
            AnalysisReport.status == ReportStatus.ready,
        )
        .order_by(AnalysisReport.finished_at.desc(), AnalysisReport.id.desc())
        .limit(1)
    )


def current(session: Session, experiment_id: int) -> AnalysisReport | None:
    """The ready report computed from the experiment's export as it is now, if any."""
    version, _ = content_version(session, experiment_id)
    row = _for_version(session, experiment_id, version)
    return row if row is not None and row.status == ReportStatus.ready else None


def _for_version(session: Session, experiment_id: int, version: str) -> AnalysisReport | None:
    return session.scalar(
        select(AnalysisReport).where(
            AnalysisReport.experiment_id == experiment_id,
            AnalysisReport.content_version == version,
        )
    )


def state(session: Session, experiment_id: int) -> ReportState:
    version, tasks = content_version(session, experiment_id)
    return ReportState(
        version,
        tasks,
        newest_ready(session, experiment_id),
        _for_version(session, experiment_id, version),
    )


def latest(session: Session, experiment_id: int) -> AnalysisReport | None:
    """The newest computation asked for (what the progress fragment follows)."""
    return session.scalar(
        select(AnalysisReport)
        .where(AnalysisReport.experiment_id == experiment_id)
        .order_by(AnalysisReport.id.desc())
        .limit(1)
    )


def request(session: Session, experiment_id: int, version: str) -> AnalysisReport:
    """The report of `version`, queued for a worker unless it is ready or under way; a
    failed one is queued again."""
    row = _for_version(session, experiment_id, version)
    if row is None:
        try:
            with session.begin_nested():  # two first views at once: one row, one job
                row = AnalysisReport(experiment_id=experiment_id, content_version=version)
                session.add(row)
        except IntegrityError:
            row = _for_version(session, experiment_id, version)
            assert row is not None
            return row
    elif row.status != ReportStatus.failed:
        return row
    row.status, row.error, row.processed_tasks = ReportStatus.queued, None, 0
    session.flush()
    queue.enqueue(session, REPORT_JOB, job_key(row.id), {"report_id": row.id}, max_attempts=1)
    return row


def drop_older(session: Session, kept: AnalysisReport) -> None:
    """A finished report replaces those asked for before it (stale by then)."""
    session.execute(
        delete(AnalysisReport).where(
            AnalysisReport.experiment_id == kept.experiment_id,
            AnalysisReport.id < kept.id,
            AnalysisReport.status.not_in(COMPUTING),
        )
    )

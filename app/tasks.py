"""Every domain's background jobs, registered with app.jobs.registry by importing this module:
the worker, the app (its pages show the model backend's health) and the tests import it."""

from app.analysis import tasks as analysis_tasks
from app.assist import tasks as assist_tasks
from app.corpus import tasks as corpus_tasks

__all__ = ["analysis_tasks", "assist_tasks", "corpus_tasks"]

"""What a job handler raises when the backend it calls fails, in terms the worker acts on.

A domain's client raises these (or subclasses them): the worker needs to know only whether
the backend could not be reached (the job waits, no attempt counted) or was reached and
failed (the attempt counts, and the backend is known to be up)."""


class BackendError(Exception):
    """The backend was reached and failed, or answered something unusable."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached, or says it cannot serve now: not the job's fault."""


class GiveUp(Exception):
    """The job cannot succeed by running again (its handler recorded why where people look):
    fail it now, whatever attempts it has left."""

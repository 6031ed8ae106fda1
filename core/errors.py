"""Domain errors. Pages show them with ``st.error``; the CLI prints them and exits non-zero.

Every error carries what its message needs (ids, file, row, tag), so the person reading it can find
the problem without a traceback.
"""
from __future__ import annotations


class QuorumError(Exception):
    """Base of every error Quorum raises on purpose (bad input, forbidden action, missing object)."""


class ConfigError(QuorumError):
    """A labeling config is malformed, unsafe, or uses a tag Quorum cannot label."""


class ImportFormatError(QuorumError):
    """An import file is malformed; the message names the file and the row or line."""


class NotFoundError(QuorumError):
    """A project, task, user ... named by the caller does not exist."""


class PermissionDeniedError(QuorumError):
    """The acting user's role or membership does not allow this action."""


class AuthenticationError(QuorumError):
    """Wrong user name or password, or an inactive account."""


class ConflictError(QuorumError):
    """The action clashes with existing data (a duplicate name, a duplicate import ...)."""


class DatabaseUnavailableError(QuorumError):
    """The database did not answer (restarting, or down) even after the retries of ``core.uow.run_in_uow``;
    nothing of the operation was stored. Pages say what is kept and what to press again; routes answer 503."""

    def __init__(self, message: str = "The database did not answer; nothing was saved. Try again in a moment.") -> None:
        super().__init__(message)

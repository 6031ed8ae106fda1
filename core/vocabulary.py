"""The words the domain is spoken in: project roles, task states and lock kinds.

A leaf module (it imports nothing of Quorum's), so that every layer can name these values from one place:
the pages take them from here (pages never import storage), and ``storage.models`` imports them for its
column defaults and re-exports them to the code that already reads them there.
"""
from __future__ import annotations

ROLE_ANNOTATOR = "annotator"
ROLE_REVIEWER = "reviewer"
ROLE_MANAGER = "manager"
PROJECT_ROLES = (ROLE_ANNOTATOR, ROLE_REVIEWER, ROLE_MANAGER)

TASK_OPEN = "open"  # still needs annotations
TASK_COMPLETED = "completed"  # reached its overlap; waiting for agreement / consensus
TASK_REVIEW = "review"  # in the review queue
TASK_DONE = "done"  # consensus or ground truth stored
TASK_STATES = (TASK_OPEN, TASK_COMPLETED, TASK_REVIEW, TASK_DONE)

LOCK_REVIEW = "review"  # a reviewer holds the task (core.review_queue); not a labeling slot (tasks.n_locked)

# Why a task waits in review (tasks.review_reason; set by core.quality when it routes a task).
REASON_DISAGREEMENT = "disagreement"  # the annotators did not reach the agreement threshold
REASON_FLAGGED = "flagged"  # a labeler marked their answer "I'm not sure"
REASON_VERIFICATION = "verification"  # an agreed task sampled for checking (the project's verify_rate)
REASON_RETURNED = "returned"  # back from the authors a reviewer returned it to, corrected
REVIEW_REASONS = (REASON_DISAGREEMENT, REASON_FLAGGED, REASON_VERIFICATION, REASON_RETURNED)

"""The words the domain is spoken in: project roles and task states.

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

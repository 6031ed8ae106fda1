"""Session-state keys and the address parameter shared by pages (UI state only: which project is open, which
task is shown)."""
CURRENT_PROJECT_KEY = "QUORUM_CURRENT_PROJECT"
CURRENT_TASK_KEY = "QUORUM_CURRENT_TASK"
# The address's ``?project=ID``: a reload starts a new session with empty state, and the address is what it keeps.
PROJECT_PARAM = "project"
PENDING_SUBMIT_KEY = "QUORUM_LABEL_PENDING_SUBMIT"  # labeling page: (task id, the submit bar's payload) until handled

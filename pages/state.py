"""Session-state keys shared by pages (UI state only: which project is open, which task is shown)."""
CURRENT_PROJECT_KEY = "QUORUM_CURRENT_PROJECT"
CURRENT_TASK_KEY = "QUORUM_CURRENT_TASK"

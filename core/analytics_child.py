"""``python -m core.analytics_child PROJECT_ID OUT``: one project's analytics snapshot computed in a process of
its own, pickled to OUT (the database URL comes in ``QUORUM_CHILD_DATABASE_URL``, never on the command line,
where ``ps`` would show a password). :mod:`core.analytics_cache` runs it for big projects; a plain interpreter
started here imports only what the computation needs, not the app's pages."""
from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

URL_VARIABLE = "QUORUM_CHILD_DATABASE_URL"


def main(argv: list[str]) -> int:
    from core.analytics_cache import compute_in_child

    if len(argv) != 2 or URL_VARIABLE not in os.environ:
        print(f"usage: {URL_VARIABLE}=URL python -m core.analytics_child PROJECT_ID OUT", file=sys.stderr)
        return 2
    snapshot = compute_in_child(os.environ[URL_VARIABLE], int(argv[0]))
    out = Path(argv[1])
    with open(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        pickle.dump(snapshot, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

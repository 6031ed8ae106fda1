"""Queries of the labeling-policy history: config versions, and how much existing work a config change
touches (annotations using a control or an option, tasks lacking a data field).

The usage counts read result JSON inside the database (SQLite's ``json_each``/``json_tree``,
PostgreSQL's ``jsonb_array_elements``/``jsonb_path_query``), one grouped statement per control, so a
project's annotations are never loaded into Python. They run once when a manager previews a config
change, never on a labeler's rerun.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from storage.models import ConfigVersion, User

# Annotations (submitted, not skips) per value found anywhere under PATH in result items whose
# MATCH_KEY equals :match. Strings only: option values are strings (Taxonomy paths are lists of them).
_OPTION_COUNTS_SQLITE = text(
    "SELECT opt.value AS option, COUNT(DISTINCT a.id) AS n FROM annotations a, json_each(a.result) AS item, "
    "json_tree(item.value, :path) AS opt "
    "WHERE a.project_id = :project_id AND a.was_cancelled = 0 AND json_extract(item.value, :match_path) = :match "
    "AND opt.type = 'text' GROUP BY opt.value"
)
_OPTION_COUNTS_PG = text(
    "SELECT opt #>> '{}' AS option, COUNT(DISTINCT a.id) AS n FROM annotations a "
    "CROSS JOIN LATERAL jsonb_array_elements(a.result) AS item "
    "CROSS JOIN LATERAL jsonb_path_query(item #> CAST(:path AS text[]), 'strict $.** ? (@.type() == \"string\")') AS opt "
    "WHERE a.project_id = :project_id AND NOT a.was_cancelled AND item ->> :match_key = :match "
    "GROUP BY opt #>> '{}'"
)
_CONTROL_COUNTS_SQLITE = text(
    "SELECT json_extract(item.value, '$.from_name') AS control, COUNT(DISTINCT a.id) AS n "
    "FROM annotations a, json_each(a.result) AS item WHERE a.project_id = :project_id AND a.was_cancelled = 0 "
    "GROUP BY json_extract(item.value, '$.from_name')"
)
_CONTROL_COUNTS_PG = text(
    "SELECT item ->> 'from_name' AS control, COUNT(DISTINCT a.id) AS n FROM annotations a "
    "CROSS JOIN LATERAL jsonb_array_elements(a.result) AS item "
    "WHERE a.project_id = :project_id AND NOT a.was_cancelled GROUP BY item ->> 'from_name'"
)
_LACKING_SQLITE = text(
    "SELECT COUNT(*) FROM tasks WHERE project_id = :project_id AND json_type(data, :path) IS NULL"
)
_LACKING_PG = text(
    "SELECT COUNT(*) FROM tasks WHERE project_id = :project_id AND NOT jsonb_exists(data, :key)"
)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _json_path(keys: tuple[str, ...]) -> str:
    """SQLite JSON path with every key quoted (keys come from configs: quotes are escaped)."""
    return "$" + "".join('."' + key.replace('"', '\\"') + '"' for key in keys)


def option_counts(
    session: Session, project_id: int, *, match_key: str, match: str, path: tuple[str, ...]
) -> dict[str, int]:
    """{option value: submitted annotations with an item (``item[match_key] == match``) whose value
    under ``path`` contains it}; e.g. ``match_key="from_name", match="sentiment", path=("value",
    "choices")``, or for Relations ``match_key="type", match="relation", path=("labels",)``."""
    if _is_postgres(session):
        rows = session.execute(_OPTION_COUNTS_PG, {"project_id": project_id, "match_key": match_key, "match": match,
                                                   "path": list(path)})
    else:
        rows = session.execute(_OPTION_COUNTS_SQLITE, {"project_id": project_id, "match_path": _json_path((match_key,)),
                                                       "match": match, "path": _json_path(path)})
    return {str(option): int(n) for option, n in rows}


def control_counts(session: Session, project_id: int) -> dict[str, int]:
    """{from_name: submitted annotations with at least one result item of it}."""
    statement = _CONTROL_COUNTS_PG if _is_postgres(session) else _CONTROL_COUNTS_SQLITE
    return {str(name): int(n) for name, n in session.execute(statement, {"project_id": project_id}) if name is not None}


def tasks_lacking(session: Session, project_id: int, key: str) -> int:
    """Tasks of the project whose data has no top-level ``key``."""
    if _is_postgres(session):
        return int(session.execute(_LACKING_PG, {"project_id": project_id, "key": key}).scalar_one())
    return int(session.execute(_LACKING_SQLITE, {"project_id": project_id, "path": _json_path((key,))}).scalar_one())


def versions(session: Session, project_id: int) -> list[Row[Any]]:
    """(version, author user name or None), newest first."""
    return list(
        session.execute(
            select(ConfigVersion, User.username)
            .outerjoin(User, User.id == ConfigVersion.created_by_id)
            .where(ConfigVersion.project_id == project_id)
            .order_by(ConfigVersion.version.desc())
        ).all()
    )


def version(session: Session, project_id: int, number: int) -> ConfigVersion | None:
    return session.scalar(
        select(ConfigVersion).where(ConfigVersion.project_id == project_id, ConfigVersion.version == number)
    )

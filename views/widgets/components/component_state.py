"""Reading a Components v2 result or its session-state entry, the same way for every Quorum component."""
from __future__ import annotations

from typing import Any


def dict_field(value: Any, name: str) -> dict[str, Any] | None:
    """``value[name]`` when it is a JSON object, else None.

    ``value`` is what mounting a component returned (attribute access) or its ``st.session_state`` entry
    (mapping access; readable before the component is mounted again in a run, so a run can act on the
    component's last event or trigger first).
    """
    if value is None:
        return None
    field = value.get(name) if hasattr(value, "get") else getattr(value, name, None)
    return field if isinstance(field, dict) else None

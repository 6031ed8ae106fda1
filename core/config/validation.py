"""Validate a labeling config and check a task's data against it.

Every message names the tag and its line, so the person fixing the XML finds the spot without a
traceback. All problems are collected and raised together.
"""
from __future__ import annotations

from typing import Any

from core.config.colors import COLOR_ATTRIBUTES, css_color
from core.config.model import ControlTag, LabelingConfig, ObjectTag, TagNode
from core.config.parser import ConfigProblem, ConfigValidationError, analyse
from core.config.registry import supported_tags_text
from core.config.values import is_missing, lookup, variable_paths


def _label(control: ControlTag) -> str:
    return f'<{control.tag} name="{control.name}">'


def _check_control(cfg: LabelingConfig, control: ControlTag) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    kind = control.kind

    def add(message: str) -> None:
        problems.append(ConfigProblem(message, control.line, control.tag))

    for target in control.to_names:
        obj = cfg.objects.get(target)
        if obj is None:
            known = ", ".join(cfg.objects) or "none"
            add(f'{_label(control)} at line {control.line}: toName="{target}" names no object tag '
                f"(object tags: {known})")
        elif obj.tag not in kind.to_kinds:
            allowed = ", ".join(sorted(kind.to_kinds))
            add(f'{_label(control)} at line {control.line} cannot label <{obj.tag} name="{obj.name}">'
                f" (line {obj.line}); {control.tag} labels only {allowed}")
    if control.tag == "Pairwise" and control.to_names and len(control.to_names) != 2:
        add(f'{_label(control)} at line {control.line}: toName must name two objects ("left,right"), '
            f"got {len(control.to_names)}")
    remote = control.tag == "Taxonomy" and control.get("apiUrl")
    if kind.needs_options and not control.options and not control.is_dynamic and not remote:
        wanted = " or ".join(f"<{k}>" for k in sorted(kind.option_kinds))
        add(f"{_label(control)} at line {control.line} has no options: add {wanted} children or "
            f'read them from the task with value="$field"')
    seen: dict[str, int] = {}
    for option in control.all_options():
        if not option.value:
            continue
        if option.result_value in seen and control.tag != "Taxonomy":
            add(f'{_label(control)} at line {control.line}: option "{option.result_value}" appears '
                f"twice (lines {seen[option.result_value]} and {option.line})")
        seen.setdefault(option.result_value, option.line)
    return problems


CHAT_DEFAULT_ROLES = ("user", "assistant")


def chat_roles(chat: ObjectTag) -> list[str]:
    """The roles a labeler may add messages as: ``messageroles`` ("user,assistant") or the default."""
    roles = [r.strip() for r in (chat.get("messageroles") or "").split(",") if r.strip()]
    return list(dict.fromkeys(roles)) or list(CHAT_DEFAULT_ROLES)


def chat_limit(chat: ObjectTag, attr: str, data: dict[str, Any] | None = None) -> int | None:
    """``minMessages``/``maxMessages`` of a Chat as an int, reading ``$var`` from ``data``; None if unset
    or unreadable (a task without the variable, or a non-number)."""
    raw = (chat.get(attr) or "").strip()
    if raw.startswith("$"):
        if data is None:
            return None
        paths = variable_paths(raw)
        if not paths:
            return None
        variable, steps = paths[0]
        raw_value = lookup(data, variable, steps) if variable in data else None
        raw = "" if is_missing(raw_value) else str(raw_value)
    try:
        number = int(raw)
    except ValueError:
        return None
    return number if number >= 0 else None


def _check_chat(cfg: LabelingConfig, chat: ObjectTag) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    label = f'<Chat name="{chat.name}">'
    to_name = (chat.get("toName") or "").strip()
    if to_name and to_name != chat.name:
        problems.append(ConfigProblem(f'{label} at line {chat.line}: toName="{to_name}" must name the Chat '
                                      f'itself ("{chat.name}") or be left out', chat.line, "Chat"))
    for attr in ("minMessages", "maxMessages"):
        raw = (chat.get(attr) or "").strip()
        if raw and not raw.startswith("$") and chat_limit(chat, attr) is None:
            problems.append(ConfigProblem(f'{label} at line {chat.line}: {attr}="{raw}" is not a whole number '
                                          f"(or a $variable of the task)", chat.line, "Chat"))
    low, high = chat_limit(chat, "minMessages"), chat_limit(chat, "maxMessages")
    if low is not None and high is not None and low > high:
        problems.append(ConfigProblem(f"{label} at line {chat.line}: minMessages={low} is above "
                                      f"maxMessages={high}", chat.line, "Chat"))
    editable = (chat.get("editable") or "false").strip().lower()
    if editable not in ("true", "false"):
        problems.append(ConfigProblem(f'{label} at line {chat.line}: editable="{chat.get("editable")}" must be '
                                      f'"true" or "false"', chat.line, "Chat"))
    return problems


def _color_warnings(node: TagNode) -> list[ConfigProblem]:
    """A colour attribute that is not a plain colour (``core.config.colors``): shown in a palette colour."""
    problems = []
    for attr in COLOR_ATTRIBUTES:
        raw = node.get(attr)
        if raw and raw.strip() and css_color(raw) is None:
            which = next((f' {key}="{node.attrs[key]}"' for key in ("name", "value") if node.attrs.get(key)), "")
            problems.append(ConfigProblem(
                f'<{node.tag}{which}> at line {node.line}: {attr}="{raw}" is not a colour (a CSS colour name, '
                f"#rrggbb, or rgb()/hsl() of numbers); Quorum shows it in its default palette colour",
                node.line, node.tag))
    return problems


def config_warnings(cfg: LabelingConfig) -> list[ConfigProblem]:
    """What Quorum reads differently from Label Studio, in line order; never stops a config.

    - a control without ``toName`` labelling the only object it can label (from the parser);
    - ``<Chat llm="...">``: Quorum calls no model, so assistant replies are typed by the labeler;
    - a ``background``/``fillColor``/``strokeColor`` that is not a plain colour: it could break out of the
      page's CSS, so the default palette colour is used instead.
    """
    warnings = list(cfg.warnings)
    for node in cfg.root.walk():
        warnings.extend(_color_warnings(node))
    for obj in cfg.objects.values():
        if obj.tag == "Chat" and (obj.get("llm") or "").strip():
            warnings.append(ConfigProblem(
                f'<Chat name="{obj.name}"> at line {obj.line}: llm="{obj.get("llm")}" is not honoured -- '
                "Quorum calls no model; the labeler types assistant replies (the labeling page says so)",
                obj.line, "Chat"))
    warnings.sort(key=lambda p: p.line)
    return warnings


def config_problems(xml_text: str, *, allow_unsupported: bool = False) -> tuple[LabelingConfig | None,
                                                                                list[ConfigProblem]]:
    """Every problem of a config, in line order, with the parsed config when one could be built.

    Raises :class:`~core.errors.ConfigError` only when the text is not usable XML (empty, unsafe,
    malformed). ``allow_unsupported`` keeps known tags without a widget from counting as problems
    (to store a Label Studio project's config that Quorum cannot label yet).
    """
    analysis = analyse(xml_text)
    problems = list(analysis.problems)
    cfg = analysis.config
    if cfg is not None:
        for control in cfg.controls.values():
            problems.extend(_check_control(cfg, control))
        for obj in cfg.objects.values():
            if obj.tag == "Chat":
                problems.extend(_check_chat(cfg, obj))
        if not allow_unsupported:
            for tag, line in cfg.unsupported_tags():
                problems.append(ConfigProblem(
                    f"unsupported tag <{tag}> at line {line}: Quorum has no widget to show or label "
                    f"it; supported tags: {supported_tags_text()}", line, tag))
    problems.sort(key=lambda p: p.line)
    return cfg, problems


def validate_config(xml_text: str, *, allow_unsupported: bool = False) -> LabelingConfig:
    """Parse ``xml_text`` and run every check; return the config or raise listing every problem.

    Checks: malformed or unsafe XML, root not ``<View>``, unknown tags, missing required attributes
    (objects ``name``/``value``, controls ``name``/``toName``), duplicate names, a ``toName`` naming no
    object tag, a control pointing at an object kind it cannot label (RectangleLabels -> Text),
    labels/choices controls without options (unless dynamic: ``value="$field"``), child tags outside
    their parent, duplicate options, and tags Quorum has no widget for (unless
    ``allow_unsupported``).

    Raises :class:`~core.errors.ConfigError`; a :class:`ConfigValidationError` carries ``problems``.
    """
    cfg, problems = config_problems(xml_text, allow_unsupported=allow_unsupported)
    if problems or cfg is None:
        raise ConfigValidationError(problems or [ConfigProblem("the labeling config could not be read")])
    return cfg


def check_task_data(cfg: LabelingConfig, data: dict[str, Any]) -> list[str]:
    """The ``$variables`` the config reads that ``data`` (one task's ``data``) lacks.

    One message per missing variable and reading tag, naming both, e.g.
    ``task data has no "image" (read by <Image name="img"> value="$image" at line 3)``. Nested paths
    (``$a.b``, ``$arr[0]``) must resolve too. An empty list means the task can be shown.
    """
    if not isinstance(data, dict):
        return [f"task data must be a JSON object, not {type(data).__name__}"]
    messages: list[str] = []
    for use in cfg.variable_uses:
        for variable, steps in variable_paths(use.template):
            if variable != use.variable:
                continue
            if variable not in data:
                messages.append(f'task data has no "{variable}" (read by {use.describe()})')
            elif steps and is_missing(lookup(data, variable, steps)):
                path = "$" + variable + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
                messages.append(f'task data has "{variable}" but not {path} (read by {use.describe()})')
    return list(dict.fromkeys(messages))

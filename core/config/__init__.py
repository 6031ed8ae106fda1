"""The labeling-config language: parse (defusedxml), validate, a typed tree, and the tag registry.

Public API (other packages code against these names)::

    cfg = parse_config(xml)            # typed tree; ConfigError on bad/unsafe XML, unknown tags
    cfg = validate_config(xml)         # + every semantic check, all problems in one ConfigError
    check_task_data(cfg, data)         # messages for $variables a task's data lacks
    config_warnings(cfg)               # accepted-but-different readings (toName fallback, Chat llm, colours)
    css_color("red")                   # a colour attribute as a plain CSS colour, or None
    generate_sample_task(cfg)          # sample task data for a preview
    resolve_value("$a.b", data)        # what a value template shows for a task
    auto_hotkeys(cfg)                  # {(control, option value): key}, Label Studio's rule
    TAG_KINDS["Choices"]               # the registry: one TagKind per tag type
"""
from core.config.colors import css_color
from core.config.hotkeys import AUTO_HOTKEY_KEYS, auto_hotkeys
from core.config.model import ControlTag, LabelingConfig, LabelOption, ObjectTag, TagNode, VariableUse
from core.config.parser import ConfigProblem, ConfigValidationError, parse_config, split_sample_comment
from core.config.registry import (
    SUPPORTED_TAGS,
    TAG_ALIASES,
    TAG_KINDS,
    WIDGET_TAGS,
    TagCategory,
    TagKind,
    canonical_tag,
    kind_of,
    supported_tags_text,
)
from core.config.samples import generate_sample_task
from core.config.validation import (
    chat_limit,
    chat_roles,
    check_task_data,
    config_problems,
    config_warnings,
    validate_config,
)
from core.config.values import resolve_value, variables_in

__all__ = [
    "AUTO_HOTKEY_KEYS", "SUPPORTED_TAGS", "TAG_ALIASES", "TAG_KINDS", "WIDGET_TAGS",
    "ConfigProblem", "ConfigValidationError", "ControlTag", "LabelOption", "LabelingConfig",
    "ObjectTag", "TagCategory", "TagKind", "TagNode", "VariableUse",
    "auto_hotkeys", "canonical_tag", "chat_limit", "chat_roles", "check_task_data", "config_problems",
    "config_warnings", "css_color", "generate_sample_task",
    "kind_of", "parse_config", "resolve_value", "split_sample_comment", "supported_tags_text",
    "validate_config", "variables_in",
]

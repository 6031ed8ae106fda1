"""Keyboard shortcuts for options, following Label Studio's automatic hotkeys.

Label Studio (``stores/Annotation/Annotation.js``, ``setupHotKeys``) first binds every explicit
``hotkey`` attribute in the config, then walks the tree in config order and gives each Label and Choice
without one the next key of ``1234567890qwetasdfgzxcvbyiopjklnm`` that is not bound yet. When the keys
run out, the remaining options get none.
"""
from __future__ import annotations

from core.config.model import LabelingConfig

AUTO_HOTKEY_KEYS = "1234567890qwetasdfgzxcvbyiopjklnm"

# Taxonomy renders its Choice children as a tree without per-item keys; Relations, Ranker buckets
# have no hotkeys either.
_HOTKEY_OPTION_TAGS = frozenset({"Choice", "Label"})
_NO_AUTO_HOTKEY_CONTROLS = frozenset({"Taxonomy"})


def auto_hotkeys(cfg: LabelingConfig) -> dict[tuple[str, str], str]:
    """The hotkey of every Label/Choice option: ``{(control_name, option_value): key}``.

    Explicit ``hotkey`` attributes win; anywhere in the config (an Audio, a Rating, a Shortcut) they
    also take their key out of the automatic pool. Options left without a key (pool exhausted) are
    not in the result. ``option_value`` is the option's ``value`` attribute.
    """
    taken = {node.attrs["hotkey"].strip().lower() for node in cfg.root.walk()
             if node.attrs.get("hotkey", "").strip()}
    free = [key for key in AUTO_HOTKEY_KEYS if key not in taken]
    result: dict[tuple[str, str], str] = {}
    for control in cfg.controls.values():
        if control.tag in _NO_AUTO_HOTKEY_CONTROLS or not control.kind.option_kinds & _HOTKEY_OPTION_TAGS:
            continue
        for option in control.all_options():
            if option.hotkey:
                result[(control.name, option.value)] = option.hotkey
            elif free:
                result[(control.name, option.value)] = free.pop(0)
    return result

"""Colour attributes of a config (``<Label background="red">``, ``fillColor``, ``strokeColor``), read as colours.

The pages put these values into CSS (a ``<style>`` rule, an inline ``style``, a chart's line colour). A value
that is not a plain colour -- ``red; } body { background: url(//tracker) }`` -- would break out of the rule,
so only a colour is kept: a named CSS colour, ``#rgb``/``#rgba``/``#rrggbb``/``#rrggbbaa``, or ``rgb()``,
``rgba()``, ``hsl()``, ``hsla()`` of numbers. Anything else reads as unset (the page's palette colour), and
:func:`core.config.config_warnings` names the tag and attribute, since Label Studio accepts the config.
"""
from __future__ import annotations

import re

COLOR_ATTRIBUTES = ("background", "fillColor", "strokeColor")

# CSS Color Module Level 4 named colours, plus ``transparent``.
NAMED_COLORS = frozenset("""
aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown burlywood
cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod
darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon
darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue dimgray
dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green
greenyellow grey honeydew hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon
lightblue lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon
lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen magenta
maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen
mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace olive
olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru
pink plum powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen
seashell sienna silver skyblue slateblue slategray slategrey snow springgreen steelblue tan teal thistle tomato
turquoise violet wheat white whitesmoke yellow yellowgreen transparent
""".split())

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)%?"
_FUNCTION = re.compile(
    rf"(?:rgba?|hsla?)\(\s*{_NUMBER}(?:\s*,\s*{_NUMBER}){{2,3}}\s*\)"  # rgb(1, 2, 3) / rgba(1, 2, 3, 0.5)
    rf"|(?:rgba?|hsla?)\(\s*{_NUMBER}(?:\s+{_NUMBER}){{2}}(?:\s*/\s*{_NUMBER})?\s*\)",  # rgb(1 2 3 / 50%)
    re.IGNORECASE,
)


def css_color(value: object) -> str | None:
    """``value`` stripped when it is a plain CSS colour, else None (see the module docstring)."""
    if not isinstance(value, str):
        return None
    color = value.strip()
    if color.lower() in NAMED_COLORS or _HEX.fullmatch(color) or _FUNCTION.fullmatch(color):
        return color
    return None

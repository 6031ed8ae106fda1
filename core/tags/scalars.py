"""Number, Rating and DateTime: one value per task, compared with a tolerance.

Agreement: ``1 - |x - y| / scale`` clipped to [0, 1] for numbers (the scale is a Rating's
``maxRating - 1``, a Number's ``max - min`` when both are given, else the larger magnitude:
:func:`metrics.agreement.numeric_agreement`); dates agree when they are within the control's tolerance
(exact by default; :func:`metrics.agreement_kinds.datetime_agreement`). Consensus: the median number (a
Rating rounded half up to a star); for dates the majority, since a median of dates typed to the minute
is rarely anyone's answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time

import pandas as pd

from core.config import ControlTag
from core.tags.choices import majority_vote
from core.tags.spec import (
    ControlAttrs,
    ControlInput,
    ResultItem,
    TagBehaviour,
    Value,
    ValueContext,
    Values,
    check_number,
    common_attrs,
    per_control,
    consensus_item,
    is_number,
    number_attr,
    scored_by,
)
from metrics.agreement import numeric_agreement
from metrics.agreement_kinds import datetime_agreement
from metrics.consensus import median_numbers, weighted_median

DEFAULT_MAX_RATING = 5


@dataclass(frozen=True)
class NumberAttrs(ControlAttrs):
    low: float | None = None  # ``min``
    high: float | None = None  # ``max``

    @property
    def scale(self) -> float | None:
        """The distance that counts as total disagreement: ``max - min`` when both are given."""
        if self.low is not None and self.high is not None and self.high > self.low:
            return self.high - self.low
        return None


@dataclass(frozen=True)
class RatingAttrs(ControlAttrs):
    max_rating: int = DEFAULT_MAX_RATING


@dataclass(frozen=True)
class DateTimeAttrs(ControlAttrs):
    """``only="date"|"time"|"year"|"month"`` narrows what is asked; ``tolerance_s`` how far apart two
    answers may be and still agree (Quorum's ``agreementTolerance`` attribute, seconds; default exact)."""

    only: str = ""
    tolerance_s: float = 0.0


@per_control
def number_attrs(control: ControlTag) -> NumberAttrs:
    return NumberAttrs(**common_attrs(control), low=number_attr(control, "min"), high=number_attr(control, "max"))


@per_control
def rating_attrs(control: ControlTag) -> RatingAttrs:
    raw = number_attr(control, "maxRating", DEFAULT_MAX_RATING) or DEFAULT_MAX_RATING
    return RatingAttrs(**common_attrs(control), max_rating=max(1, int(raw)))


@per_control
def datetime_attrs(control: ControlTag) -> DateTimeAttrs:
    return DateTimeAttrs(**common_attrs(control), only=(control.get("only") or "").strip().lower(),
                         tolerance_s=max(0.0, number_attr(control, "agreementTolerance", 0.0) or 0.0))


def number_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return numeric_agreement(a, b, key="number", scale=number_attrs(control).scale)


def rating_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return numeric_agreement(a, b, key="rating", scale=max(rating_attrs(control).max_rating - 1, 1))


def datetime_pairwise(control: ControlTag, a: Values, b: Values) -> float:
    return datetime_agreement(a, b, tolerance_s=datetime_attrs(control).tolerance_s)


def median(inp: ControlInput) -> list[ResultItem] | None:
    """Median of the numbers given (:func:`metrics.consensus.median_numbers`); a Rating is rounded half
    up to a star, and integers given stay an integer when the median is one. With consensus weights
    (``inp.weights``) the weighted median (:func:`metrics.consensus.weighted_median`): a down-weighted
    annotator pulls it less."""
    value_key = inp.control.kind.value_key or "number"
    answered = [(items[0], items[0].get("value", {}).get(value_key), weight)
                for items, weight in zip(inp.per_annotation, inp.vote_weights()) if items]
    given = [(item, v) for item, v, _ in answered if is_number(v)]
    if not given:
        return [] if not any(inp.per_annotation) else None
    if inp.weights:
        median = weighted_median([float(v) for _, v in given], [w for _, v, w in answered if is_number(v)])
    else:
        frame = pd.DataFrame({"task": 0, "annotator": range(len(given)), "label": [float(v) for _, v in given]})
        median = float(median_numbers(frame).iloc[0])
    answer: float | int = median
    if value_key == "rating":  # stars are whole
        answer = int(math.floor(median + 0.5))
    elif all(isinstance(v, int) for _, v in given) and median.is_integer():
        answer = int(median)
    return [consensus_item(inp.control, given[0][0], {value_key: answer})]


def validate_number(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    attrs = number_attrs(control)
    return check_number(value, "number", low=attrs.low, high=attrs.high)


def validate_rating(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    problems = check_number(value, "rating", low=1, high=rating_attrs(control).max_rating)
    if not problems and float(value["rating"]) != int(value["rating"]):
        problems.append(f"rating: {value['rating']} is not a whole number of stars")
    return problems


def parse_datetime(text: str) -> datetime:
    """A DateTime answer as Label Studio writes it: a date, a time, a date and time, a year or a month."""
    text = text.strip()
    for parse in (datetime.fromisoformat, lambda t: datetime.combine(date.min, time.fromisoformat(t))):
        try:
            return parse(text)
        except ValueError:
            continue
    if text.isdigit() and len(text) == 4:  # only="year"
        return datetime(int(text), 1, 1)
    if len(text) == 7 and text[4] == "-":  # only="month": 2024-05
        return datetime.fromisoformat(text + "-01")
    raise ValueError(f"{text!r} is not a date or time")


def validate_datetime(control: ControlTag, value: Value, ctx: ValueContext) -> list[str]:
    answer = value.get("datetime")
    if not isinstance(answer, str):
        return [f"datetime: {answer!r} is not a date or time text"]
    try:
        parse_datetime(answer)
    except ValueError:
        return [f"datetime: {answer!r} is not a date or time (expected e.g. 2024-05-01 or 2024-05-01T10:30)"]
    return []


BEHAVIOURS = {
    "Number": TagBehaviour(
        family="scalars", attrs=number_attrs, validate=validate_number, agreement=number_pairwise,
        consensus=median, gold=scored_by("score", "numeric_distance", number_pairwise), level="interval",
    ),
    "Rating": TagBehaviour(
        family="scalars", attrs=rating_attrs, validate=validate_rating, agreement=rating_pairwise,
        consensus=median, gold=scored_by("score", "numeric_distance", rating_pairwise), level="ordinal",
    ),
    "DateTime": TagBehaviour(
        family="scalars", attrs=datetime_attrs, validate=validate_datetime, agreement=datetime_pairwise,
        consensus=majority_vote, gold=scored_by("score", "datetime_match", datetime_pairwise),
    ),
}

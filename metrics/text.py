"""Text distances: normalised edit similarity, character and word error rates.

Levenshtein distances come from ``rapidfuzz`` (C++), which also accepts lists of words, so WER is the
same edit distance over tokens.

References
----------
.. [1] Levenshtein, V. I. (1966). Binary codes capable of correcting deletions, insertions, and
   reversals. Soviet Physics Doklady 10(8), 707-710.
.. [2] Morris, A. C., Maier, V. & Green, P. (2004). From WER and RIL to MER and WIL: improved
   evaluation measures for connected speech recognition. Interspeech 2004.
"""
from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import Levenshtein

_SPACES = re.compile(r"\s+")


def normalise_text(text: str, *, casefold: bool = True) -> str:
    """NFC-normalise, collapse runs of whitespace, strip, and (by default) casefold."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return text.casefold() if casefold else text


def edit_similarity(a: str, b: str, *, normalise: bool = True) -> float:
    """``1 - levenshtein(a, b) / max(len(a), len(b))``: 1 for equal texts (two empty texts too), 0
    when nothing can be kept.

    Examples
    --------
    >>> edit_similarity("kitten", "sitting")
    0.5714285714285714
    """
    if normalise:
        a, b = normalise_text(a), normalise_text(b)
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - Levenshtein.distance(a, b) / longest


def character_error_rate(reference: str, hypothesis: str, *, normalise: bool = False) -> float:
    """CER = character edits to turn ``reference`` into ``hypothesis`` / ``len(reference)``.

    Not symmetric and may exceed 1 (many insertions). An empty reference gives 0 for an empty
    hypothesis and ``inf`` otherwise.
    """
    if normalise:
        reference, hypothesis = normalise_text(reference), normalise_text(hypothesis)
    if not reference:
        return 0.0 if not hypothesis else float("inf")
    return Levenshtein.distance(reference, hypothesis) / len(reference)


def word_error_rate(reference: str, hypothesis: str, *, normalise: bool = True) -> float:
    """WER = word edits (substitutions + deletions + insertions) / number of reference words [2]_.

    Words are whitespace-separated tokens, after :func:`normalise_text` by default. Same empty-case
    rule as :func:`character_error_rate`.

    Examples
    --------
    >>> word_error_rate("the cat sat", "the cat sat down")
    0.3333333333333333
    """
    if normalise:
        reference, hypothesis = normalise_text(reference), normalise_text(hypothesis)
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return 0.0 if not hyp else float("inf")
    return Levenshtein.distance(ref, hyp) / len(ref)

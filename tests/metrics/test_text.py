"""Text distances: edit similarity, CER and WER."""
from __future__ import annotations

import pytest

from metrics.text import character_error_rate, edit_similarity, normalise_text, word_error_rate


def test_edit_similarity_of_kitten_and_sitting():
    assert edit_similarity("kitten", "sitting") == pytest.approx(1 - 3 / 7)


def test_edit_similarity_is_symmetric_and_one_for_equal_texts():
    assert edit_similarity("abc", "abd") == edit_similarity("abd", "abc")
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("Hello  World", "hello world") == 1.0


def test_edit_similarity_without_normalising_sees_case():
    assert edit_similarity("A", "a", normalise=False) == 0.0


def test_cer_counts_character_edits_per_reference_character():
    assert character_error_rate("abcd", "abxd") == pytest.approx(0.25)
    assert character_error_rate("", "") == 0.0
    assert character_error_rate("", "a") == float("inf")


def test_wer_counts_word_edits_per_reference_word():
    assert word_error_rate("the cat sat on the mat", "the cat sit on mat") == pytest.approx(2 / 6)
    assert word_error_rate("a b", "a b c d") == pytest.approx(1.0)


def test_normalise_text_collapses_whitespace_and_case():
    assert normalise_text("  Straße\tIST\n gut ") == "strasse ist gut"

import math

import pytest

from app.assist.dedupe import dedupe, normalise
from app.assist.evaluate import roc_auc
from app.assist.scoring import yes_no_score


def test_score_sums_token_variants() -> None:
    top = {
        " Yes": math.log(0.3),
        "Yes": math.log(0.2),
        "yes": math.log(0.1),
        " No": math.log(0.15),
        "NO.": math.log(0.05),
        " Maybe": math.log(0.2),
    }
    score = yes_no_score(top)
    assert score.value == pytest.approx(0.6 / 0.8)
    assert score.missing_reason is None


def test_score_is_missing_with_a_reason_when_neither_word_is_there() -> None:
    score = yes_no_score({" The": -0.1, " A": -2.0})
    assert score.value is None
    assert score.missing_reason == "neither Yes nor No among the top 2 next tokens"
    assert yes_no_score({}).missing_reason == "the backend returned no log-probs"


def test_words_that_merely_contain_yes_do_not_count() -> None:
    assert yes_no_score({" Yesterday": -0.1, " Nobody": -0.2}).value is None


def test_normalise_folds_case_space_and_punctuation() -> None:
    assert normalise("  The answer,  is WRONG! ") == normalise("the answer is wrong")


def test_dedupe_drops_empty_exact_and_near_duplicates_keeping_the_first() -> None:
    texts = [
        "The answer says Tobias retired, but he died.",
        "the answer says tobias retired but he died",  # exact after normalising
        "",  # empty
        "   ",
        "The answer says Tobias retired, but he had died.",  # near duplicate (ratio > 0.9)
        "The answer leaves out the storm entirely.",
    ]
    assert dedupe(texts) == [0, 5]


def test_dedupe_keeps_critiques_about_different_things() -> None:
    assert dedupe(["The date is wrong.", "The name is misspelled."]) == [0, 1]


def test_roc_auc() -> None:
    assert roc_auc([0.9, 0.8, 0.3, 0.1], [True, True, False, False]) == 1.0
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [True, True, False, False]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [True, False, True, False]) == 0.5
    assert roc_auc([0.4, 0.6], [True, True]) is None

"""/classify request checks (the server itself is covered by tests/integration)."""

from __future__ import annotations

from serving.validation import chunks, classify_input_problem


def test_valid_request_passes() -> None:
    assert classify_input_problem(["hello", "@a help"], max_texts=5, max_chars=20) is None


def test_each_bad_input_gets_a_clear_message() -> None:
    assert "empty" in classify_input_problem([], 5, 20)
    assert "too many texts: 6 > 5" in classify_input_problem(["x"] * 6, 5, 20)
    assert "texts[1] is empty" in classify_input_problem(["x", "  "], 5, 20)
    assert "texts[0] has 21 characters > 20" in classify_input_problem(["x" * 21], 5, 20)


def test_chunks_keep_order_and_size() -> None:
    assert chunks(["a", "b", "c"], 2) == [["a", "b"], ["c"]]

"""Numbers and enumeration sizes read from an instruction's words, the count reader's inputs."""

import pytest
import torch

from orchestai_core.model.decomposer import CountReader
from orchestai_core.model.loss import count_loss
from orchestai_core.model.numerals import READER_VERSION, reader_note, token_numbers, word_ids, word_value


@pytest.mark.parametrize("word, value", [
    ("seven", 7), ("12", 12), ("12,", 12), ("(3", 3), ("125", 100), ("twenty-one", 21), ("dozen", 12),
    ("couple", 2), ("Seven", 0),  # words arrive lower-cased; the caller lower-cases
    ("photo_002.jpg", 0), ("#4512", 0), ("q1", 0), ("numbers", 0),
])
def test_a_word_writes_a_number_only_when_it_is_one_as_a_whole(word, value):
    assert word_value(word) == value


def _read(text: str) -> list[tuple[str, tuple[float, float]]]:
    """(token, numbers) of the tokens that carry a number, for text split on spaces (one token per word)."""
    tokens = text.split()
    return [(t, n) for t, n in zip(tokens, token_numbers(tokens, word_ids(tokens))) if n != (0.0, 0.0)]


def test_numbers_as_people_write_them():
    assert _read("reconcile seven files") == [("seven", (7.0, 0.0))]
    assert _read("narrate half a dozen chapters") == [("dozen", (6.0, 0.0))]
    assert _read("compare a dozen vendors") == [("dozen", (12.0, 0.0))]


def test_an_enumeration_puts_its_size_on_the_conjunction_that_closes_it():
    assert _read("translate it into Polish, Korean, Hindi & French and also email it") == [("&", (0.0, 4.0))]
    assert _read("ship the auth service, the api, and the gateway") == [("and", (0.0, 3.0))]  # Oxford comma
    assert _read("translate it into French and German") == [("and", (0.0, 2.0))]


def test_two_items_after_a_long_clause_are_an_enumeration():
    assert _read("i need a summary of the attached quarterly report in the two languages Spanish and Arabic") == [
        ("two", (2.0, 0.0)), ("and", (0.0, 2.0))]


def test_the_last_item_and_a_following_clause_are_not_a_second_enumeration():
    assert _read("caption a.jpg, b.jpg & c.jpg and tag them") == [("&", (0.0, 3.0))]


def test_two_items_after_a_clause_joined_by_and_are_an_enumeration():
    # the bundled planner dropped these translations while the list of two went unread (README, "A gap it had")
    read = _read("summarize the report and translate the summary into French and German.")
    assert read[-1] == ("and", (0.0, 2.0)) and len(read) == 2  # the first "and" may join two items too
    assert _read("tag and describe the photos and send them to Ana & Ben")[-1] == ("&", (0.0, 2.0))


def test_clauses_are_not_items():
    assert _read("write the report for the board, then email it to the whole team, then archive it") == []


def test_pieces_of_one_word_count_once_with_offsets():
    # "shelf_photo.jpg," as BERT cuts it: the pieces touch, so they are one word that writes no number
    tokens = ["[CLS]", "ocr", "shelf", "_", "photo", "_", "00", "##2", ".", "jp", "##g", ",", "a", ".", "png", "and",
              "b", ".", "png", "[SEP]"]
    offsets = [(0, 0), (0, 3), (4, 9), (9, 10), (10, 15), (15, 16), (16, 18), (18, 19), (19, 20), (20, 22), (22, 23),
               (23, 24), (25, 26), (26, 27), (27, 30), (31, 34), (35, 36), (36, 37), (37, 40), (0, 0)]
    words = word_ids(tokens, offsets)
    assert words[0] == -1 and words[-1] == -1
    assert words[2:12] == [1] * 10
    numbers = token_numbers(tokens, words)
    assert [n for n in numbers if n != (0.0, 0.0)] == [(0.0, 3.0)]
    assert numbers[15] == (0.0, 3.0)


def test_wordpiece_and_sentencepiece_markers_join_pieces_without_offsets():
    assert word_ids(["tri", "##age", "7", "tickets"]) == [0, 0, 1, 2]
    assert word_ids(["▁Sev", "en", "▁files"]) == [0, 0, 1]
    tokens = ["▁French", ",", "▁German", "▁and", "▁Dutch"]
    assert token_numbers(tokens, word_ids(tokens))[3] == (0.0, 3.0)


def test_count_reader_points_at_a_number_or_an_enumeration_and_sums_token_gates():
    torch.manual_seed(0)
    reader = CountReader(enc_dim=8, hidden=16, heads=2)
    tokens = torch.randn(2, 5, 8)
    tokens[0, 1] = 5.0  # the token every pointer head scores highest
    tokens[1, 2] = 5.0
    with torch.no_grad():
        reader.scores[-1].weight.zero_()
        reader.scores[-1].weight[:4, :].fill_(1.0)  # pointer heads score by the sum of the token's units
        reader.scores[-1].bias.fill_(20.0)  # every token gate open
        reader.none.fill_(-50.0)
    numbers = torch.tensor([[[0.0, 0.0], [7.0, 0.0], [2.0, 0.0], [0.0, 0.0], [9.0, 0.0]],  # "seven", "two"
                            [[0.0, 0.0], [0.0, 0.0], [0.0, 3.0], [0.0, 0.0], [0.0, 0.0]]])  # a list of three
    mask = torch.tensor([[True, True, True, True, False], [True] * 5])  # padding: its 9 is not read
    counts = reader(tokens, numbers, mask).tolist()
    assert counts[0][:4] == pytest.approx([7.0] * 4, abs=1e-3)
    assert counts[1][:4] == pytest.approx([3.0] * 4, abs=1e-3)
    assert counts[0][4:] == pytest.approx([4.0, 4.0], abs=1e-3)  # four real tokens
    assert counts[1][4:] == pytest.approx([5.0, 5.0], abs=1e-3)


def test_a_count_is_zero_when_the_instruction_writes_no_number():
    reader = CountReader(enc_dim=8, hidden=16, heads=1)
    counts = reader(torch.randn(2, 3, 8), torch.zeros(2, 3, 2), torch.ones(2, 3, dtype=torch.bool))
    assert counts[:, :2].abs().max().item() == 0.0


def test_count_loss_skips_ignored_steps_and_is_zero_when_exact():
    totals = torch.tensor([[5.0, 2.0, 1.0]])
    assert count_loss(totals, torch.tensor([[-100.0, 2.0, 1.0]])).item() == 0.0
    assert count_loss(totals, torch.tensor([[-100.0, 4.0, 1.0]])).item() > 0.0
    assert count_loss(totals, torch.full((1, 3), -100.0)).item() == 0.0


def test_the_numerals_reader_can_be_turned_off_and_then_reads_nothing(tiny_encoder):
    from planner_fixtures import tiny_model_config

    from orchestai_core.model.planner import PlannerModel
    from orchestai_core.model.vocab import TYPE_SPECIALS, Vocab

    texts = ["Translate nine memos into French", "Email Anna, Ben and Carl"]
    models = {on: PlannerModel.from_config(tiny_model_config(tiny_encoder, numerals=on), Vocab(list(TYPE_SPECIALS)),
                                           Vocab(["w"])) for on in (True, False)}
    _, tokens, words = models[True].encoder.tokenize_words(texts)
    read, unread = models[True].numbers(tokens, words), models[False].numbers(tokens, words)
    assert read.shape == unread.shape == (2, len(tokens[0]), 2)
    assert read.abs().sum() > 0 and unread.abs().sum() == 0


@pytest.mark.parametrize("setting, message", [
    ({"numerals": "yes"}, "model.numerals must be true or false"),
    ({"pessimism": -0.5}, "model.pessimism must be a number ≥ 0"),
    ({"pessimism": True}, "model.pessimism must be a number ≥ 0"),
])
def test_model_settings_refuse_what_they_cannot_mean(setting, message):
    from orchestai_core.model.planner import PlannerConfig

    with pytest.raises(ValueError, match=message):
        PlannerConfig.from_dict(setting)


# What the reader gives for a few requests, pinned with its version: a change to the reader fails here until
# READER_VERSION is bumped (and these readings updated), so that checkpoints trained before it say so.
PINNED = {
    "summarize the report and translate the summary into french and german": [("and", (0.0, 2.0)),
                                                                              ("and", (0.0, 2.0))],
    "reconcile seven files, then email maria": [("seven", (7.0, 0.0))],
    "translate it into polish, korean, hindi & french and also email it": [("&", (0.0, 4.0))],
    "compare acme, globex and initech for twenty-one days": [("and", (0.0, 3.0)), ("twenty-one", (21.0, 0.0))],
}


def test_the_readings_are_pinned_to_the_readers_version():
    assert (READER_VERSION, {text: _read(text) for text in PINNED}) == (3, PINNED), \
        "the numerals reader reads differently: bump READER_VERSION and update PINNED"


def test_a_planner_trained_with_another_reader_gets_a_note_naming_both_versions():
    assert reader_note(None) is None and reader_note(READER_VERSION) is None
    note = reader_note(READER_VERSION - 1)
    assert f"version {READER_VERSION - 1}" in note and f"version {READER_VERSION}:" in note
    assert "may differ from its validation figures" in note

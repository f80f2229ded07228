"""Numbers and enumeration sizes read from instruction tokens, the count reader's inputs."""

import pytest
import torch

from orchestai_core.model.decomposer import CountReader
from orchestai_core.model.loss import count_loss
from orchestai_core.model.numerals import list_sizes, token_values


@pytest.mark.parametrize("tokens, values", [
    (["reconcile", "seven", "files"], [0, 7, 0]),
    (["review", "12", "cvs"], [0, 12, 0]),
    (["125", "rows"], [100, 0]),  # capped
    (["1", "##2", "##5", "rows"], [100, 0, 0, 0]),  # digits split into pieces are read whole
    (["1", "##2", "rows"], [12, 0, 0]),
    (["twenty", "-", "one", "files"], [21, 0, 0, 0]),
    (["half", "a", "dozen", "chapters"], [0, 0, 6, 0]),
    (["a", "dozen", "chapters"], [0, 12, 0]),
    (["a", "couple", "of", "vendors"], [0, 2, 0, 0]),
    (["▁Seven", "▁files"], [7, 0]),  # SentencePiece pieces (T5)
    (["no", "numbers", "here"], [0, 0, 0]),
])
def test_token_values_read_numbers_as_people_write_them(tokens, values):
    assert token_values(tokens) == values


def test_enumeration_sizes_mark_separators_and_inner_items():
    tokens = "translate it into polish , korean , hindi & french and also email it".split()
    sizes = list_sizes(tokens)
    assert sizes[4:9] == [4.0] * 5  # ", korean , hindi &"
    assert sizes[3] == 0.0 and sizes[9] == 0.0  # where the first item starts / the last ends is unknown
    assert sizes[10] == 2.0  # "french and also": an "A and B" of its own


def test_an_oxford_comma_is_one_separator_and_clauses_are_not_items():
    tokens = "ship the auth service , the api , and the gateway".split()
    assert max(list_sizes(tokens)) == 3.0
    long_clauses = "write the report for the board , then email it to the whole team".split()
    assert max(list_sizes(long_clauses)) == 0.0


def test_count_reader_sums_gates_weighted_by_numbers_and_sizes():
    torch.manual_seed(0)
    reader = CountReader(enc_dim=8, hidden=16, heads=2)
    with torch.no_grad():
        reader.gates[-1].weight.zero_()
        reader.gates[-1].bias.fill_(20.0)  # every gate open
    tokens = torch.randn(1, 4, 8)
    numbers = torch.tensor([[[0.0, 0.0], [7.0, 0.0], [0.0, 3.0], [0.0, 3.0]]])
    mask = torch.tensor([[True, True, True, False]])  # the last token is padding
    counts = reader(tokens, numbers, mask)[0].tolist()
    assert counts == pytest.approx([7.0, 7.0, 3.0, 3.0, 3.0, 3.0])


def test_count_loss_skips_ignored_steps_and_is_zero_when_exact():
    totals = torch.tensor([[5.0, 2.0, 1.0]])
    assert count_loss(totals, torch.tensor([[-100.0, 2.0, 1.0]])).item() == 0.0
    assert count_loss(totals, torch.tensor([[-100.0, 4.0, 1.0]])).item() > 0.0
    assert count_loss(totals, torch.full((1, 3), -100.0)).item() == 0.0


def test_sentencepiece_tokens_are_read_too():
    assert max(list_sizes(["▁French", "▁,", "▁German", "▁and", "▁Dutch"])) == 3.0

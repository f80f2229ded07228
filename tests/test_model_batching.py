"""Batching: label encoding, dynamic padding and length-bucketed batches."""

import random

import pytest
import torch

from orchestai_core.examples import Example
from orchestai_core.model.batching import Encoded, bucketed_batches, collate, encode_labels, encode_outcomes
from orchestai_core.model.vocab import TYPE_SPECIALS, UNK, Vocab

TYPES = Vocab([*TYPE_SPECIALS, "extract", "summarize", "translate"])
WORKERS = Vocab(["a", "b"])


def example(types, workers, parents):
    return Example("x", "do it", None, types, workers, parents)


def test_unseen_types_become_unk_and_missing_workers_are_ignored():
    types, workers, parents = encode_labels(example(["extract", "ocr"], ["a", None], [[], [0]]), TYPES, WORKERS, 10)
    assert types == [TYPES["extract"], TYPES[UNK]]
    assert workers == [0, -100] and parents == [[], [0]]


def test_labels_are_cut_to_max_nodes_with_their_edges():
    types, _, parents = encode_labels(example(["extract", "summarize", "translate"], ["a"] * 3, [[], [0], [1]]),
                                      TYPES, WORKERS, 2)
    assert len(types) == 2 and parents == [[], [0]]


def test_collate_pads_each_batch_to_its_longest_and_masks_targets():
    short = Encoded(torch.ones(2, 4), torch.zeros(2, 2), [TYPES["extract"]], [0], [[]])
    long = Encoded(torch.ones(5, 4), torch.full((5, 2), 3.0), [TYPES["extract"], TYPES[UNK], TYPES["translate"]],
                   [1, -100, 0], [[], [0], [0, 1]])
    batch = collate([short, long], TYPES)
    assert batch["tokens"].shape == (2, 5, 4) and batch["token_mask"].sum(1).tolist() == [2, 5]
    assert batch["type_targets"][0].tolist() == [TYPES["extract"], TYPES["<eos>"], -100, -100]
    assert batch["type_targets"][1].tolist() == [TYPES["extract"], -100, TYPES["translate"], TYPES["<eos>"]]
    assert batch["prev"][1].tolist() == [TYPES["<bos>"], TYPES["extract"], TYPES[UNK], TYPES["translate"]]
    assert batch["edge_targets"][1].nonzero().tolist() == [[0, 1], [0, 2], [1, 2]]
    assert batch["worker_targets"].tolist() == [[0, -100, -100], [1, -100, 0]]
    assert batch["numbers"].shape == (2, 5, 2) and batch["numbers"][0, 2:].abs().sum() == 0


def test_count_targets_are_each_previous_types_total_in_the_workflow():
    ids = [TYPES["extract"], TYPES["translate"], TYPES["extract"], TYPES["extract"]]
    item = Encoded(torch.ones(3, 4), torch.zeros(3, 2), ids, [0] * 4, [[], [0], [], []])
    short = Encoded(torch.ones(3, 4), torch.zeros(3, 2), [TYPES["translate"]], [0], [[]])
    batch = collate([item, short], TYPES)
    assert batch["count_targets"][0].tolist() == [-100, 3, 1, 3, 3]  # BOS has no count
    assert batch["count_targets"][1].tolist() == [-100, 1, -100, -100, -100]  # padding has none

def test_bucketed_batches_cover_every_example_once_and_group_similar_lengths():
    lengths = [random.Random(i).randint(1, 40) for i in range(100)]
    batches = bucketed_batches(lengths, 8, random.Random(0), window=100)
    assert sorted(i for b in batches for i in b) == list(range(100))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    assert spread < 8
    assert batches != bucketed_batches(lengths, 8, random.Random(1), window=100)


def test_bucketed_batches_by_steps_then_tokens_pad_fewer_tokens_at_the_same_steps():
    """Real requests have few steps and wordings of very different lengths: breaking ties of steps by tokens
    keeps the step padding as it was and cuts the token padding."""
    rng = random.Random(3)
    steps = [rng.randint(1, 4) for _ in range(256)]
    tokens = [rng.randint(10, 128) for _ in range(256)]

    def padded(batches, lengths):
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    by_steps = bucketed_batches(steps, 16, random.Random(0), window=16)
    by_both = bucketed_batches(list(zip(steps, tokens)), 16, random.Random(0), window=16)
    assert sorted(i for b in by_both for i in b) == list(range(256))
    assert padded(by_both, steps) == padded(by_steps, steps)
    assert padded(by_both, tokens) < 0.8 * padded(by_steps, tokens)


def test_outcome_targets_are_known_only_where_the_logged_worker_ran():
    e = Example("x", "do it", None, ["extract", "summarize", "translate", "translate"], ["a", "b", "a", None],
                [[], [0], [1], [1]], costs=[0.1, None, 0.3, 0.4], latencies=[10, 20, 30, 40],
                choice_probs=[0.5, None, 1.0, None], statuses=["success", "failed", "skipped", "success"])
    success, costs, latencies, probs = encode_outcomes(e, 10)
    nan = float("nan")

    def same(a, b):  # equal, NaN matching NaN
        return all((x != x and y != y) or x == y for x, y in zip(a, b)) and len(a) == len(b)

    assert same(success, [1.0, 0.0, nan, nan])  # skipped ran nothing; no worker, no outcome of one
    assert same(costs, [0.1, nan, nan, nan]) and same(latencies, [10.0, 20.0, nan, nan])
    assert same(probs, [0.5, nan, nan, nan])
    item = Encoded(torch.ones(2, 4), torch.zeros(2, 2), *encode_labels(e, TYPES, WORKERS, 10), success, costs,
                   latencies, probs)
    short = Encoded(torch.ones(2, 4), torch.zeros(2, 2), [TYPES["extract"]], [0], [[]])  # no outcomes at all
    batch = collate([short, item], TYPES)
    assert batch["success_targets"].shape == (2, 4) and batch["success_targets"][0].isnan().all()
    assert batch["success_targets"][1, :2].tolist() == [1.0, 0.0]
    assert batch["costs_targets"][1, 0].item() == pytest.approx(0.1)
    assert batch["choice_probs_targets"][1, 0].item() == 0.5 and batch["latencies_targets"][1, 2].isnan()


"""Greedy decoding of one request in NumPy (`model/row_decoding.py`) is the torch decoder's: the same types,
lengths and certificates, the same node states, on random weights (padding, counts, plans cut at the step
limit) and on the bundled planner's plans."""

import warnings

import pytest
import torch

import orchestai_core.model.decomposer as decomposer_module
from orchestai_core.model.decomposer import GREEDY, SEARCHED, TaskDecomposer
from orchestai_core.model.vocab import TYPE_SPECIALS, Vocab

TYPES = Vocab([*TYPE_SPECIALS, *[f"t{i}" for i in range(8)]])
ARGS = (TYPES["<bos>"], TYPES["<eos>"], [TYPES["<pad>"], TYPES["<bos>"], TYPES["<unk>"]])


def _requests(seed: int, end: float = 1.0, rows: int = 12, tokens: int = 9):
    """A random decomposer, a batch of `rows` requests (some padded, some writing numbers and lists) and each of
    them alone as a one-row request. `end` is END's logit bias: random weights seldom end a plan without it."""
    torch.manual_seed(seed)
    decomposer = TaskDecomposer(len(TYPES), 16, 8, 12, 0.0, count_heads=2).eval()
    with torch.no_grad():
        decomposer.out[-1].weight.mul_(4.0)  # confident steps: plans of different lengths, some certified
        decomposer.out[-1].bias[TYPES["<eos>"]] = end
    states, mask = torch.randn(rows, tokens, 16) * 2, torch.ones(rows, tokens, dtype=torch.bool)
    mask[1::3, 5:] = False
    numbers = torch.zeros(rows, tokens, 2)
    numbers[::2, 2, 0] = torch.arange(0, rows, 2).float()
    numbers[1::4, 4, 1] = 3.0
    request = decomposer.read(states, mask, numbers)
    return decomposer, request, [request.rows(torch.tensor([b])) for b in range(rows)]


def _both(decomposer, call, *args, **kwargs):
    """`call(*args, **kwargs)` with row decoding, then with the torch step only."""
    decomposer.row_decoding = True
    fast = call(*args, **kwargs)
    decomposer.row_decoding = False
    try:
        return fast, call(*args, **kwargs)
    finally:
        decomposer.row_decoding = True


def _assert_same(fast, slow):
    for a, b in zip(fast, slow):
        assert a.shape == b.shape and a.dtype == b.dtype
        if a.is_floating_point():
            assert torch.allclose(a, b, atol=1e-5)
        else:
            assert torch.equal(a, b)


@pytest.mark.parametrize("max_nodes", [12, 3])
def test_one_row_decodes_as_the_torch_step_does(max_nodes):
    lengths, certified = set(), set()
    for seed, end in [(0, 1.0), (0, 1.5), (2, 1.5), (3, 1.0)]:  # plans of 1 to 12 steps, certified or not
        decomposer, _, requests = _requests(seed, end)
        for request in requests:
            with torch.inference_mode():
                fast, slow = _both(decomposer, decomposer._greedy, request, *ARGS, max_nodes, certify=True)
                _assert_same(fast, slow)
                _assert_same(*_both(decomposer, decomposer.generate, request, *ARGS, max_nodes))
                _assert_same(*_both(decomposer, decomposer.decode, request, *ARGS, max_nodes, 3))
            lengths.add(int(fast[2]))
            certified.add(bool(fast[3]))
    assert len(lengths) >= 3 and max_nodes in lengths and certified == {True, False}


@pytest.mark.parametrize("width", [2, 3, 5])
def test_one_row_searches_as_the_torch_beam_does(width):
    """The beam over one row in NumPy (`beam_row`) finds the torch beam's plan, length and node states, on
    random weights (whose beams end early) and on the bundled planner's requests (plans of many lengths, and
    cut at the step limit)."""
    for seed, end in [(0, 1.0), (0, -3.0), (3, -6.0)]:
        decomposer, _, requests = _requests(seed, end)
        for request in requests:
            with torch.inference_mode():
                _assert_same(*_both(decomposer, decomposer._beam, request, *ARGS, 12, width))
                _assert_same(*_both(decomposer, decomposer.beam_search, request, *ARGS, 12, width))
    planner, requests = _bundled_requests(["Summarize board_minutes.pdf and translate the summary into French "
                                           "and German.", "transcribe the meeting recording and email the action "
                                           "items to the team", "summarize this pdf for me",
                                           "Reconcile these seven invoices against the ledger, then write a short "
                                           "report for the CFO and schedule a review meeting."])
    types, lengths = planner.model.types, set()
    args = (types["<bos>"], types["<eos>"], [types["<pad>"], types["<bos>"], types["<unk>"]])
    for request in requests:
        for max_nodes in (64, 3):
            with torch.inference_mode():
                fast, slow = _both(planner.model.decomposer, planner.model.decomposer._beam, request, *args,
                                   max_nodes, width)
            _assert_same(fast, slow)
            lengths.add(int(fast[2]))
    assert len(lengths) >= 3 and 3 in lengths


def _bundled_requests(texts: list[str]):
    """The bundled planner and its decomposer's reading of each text, as one-row requests."""
    from orchestai_core.config import load_config
    from orchestai_core.planner_api import Planner

    planner = Planner.load(load_config()["paths"]["default_planner"], "cpu")
    requests = []
    with torch.inference_mode():
        for text in texts:
            batch, tokens, words = planner.encoder.tokenize_words([text], "cpu")
            states = planner.encoder.frozen_states(**batch)
            numbers = planner.model.numbers(tokens, words)
            requests.append(planner.model._request(states, batch["attention_mask"].bool(), numbers)[1])
    return planner, requests


def test_a_plan_cut_at_the_step_limit_is_not_certified_and_goes_to_the_search():
    decomposer, _, requests = _requests(3, rows=3)
    with torch.no_grad():
        decomposer.out[-1].bias[TYPES["<eos>"]] = -30.0  # END is never the likeliest choice
    for request in requests:
        with torch.inference_mode():
            types, _, lengths, optimal = decomposer._greedy(request, *ARGS, 4, certify=True)
            how = decomposer.decode(request, *ARGS, 4, 3)[-1]
        assert int(lengths) == 4 and not bool(optimal) and how.tolist() == [SEARCHED]


def test_far_out_counts_decode_alike_and_without_warnings():
    """What remains to emit far below zero (a type expected -100 times) saturates the decoder's sigmoids: the
    row's arithmetic must neither overflow (a RuntimeWarning in the workbench's log) nor differ from torch."""
    decomposer, _, requests = _requests(0, rows=3)
    with torch.no_grad():
        decomposer.mix.weight[:, -1] = -100.0
    for request in requests:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("error")
            _assert_same(*_both(decomposer, decomposer._greedy, request, *ARGS, 12, certify=True))


def test_only_one_float32_row_in_inference_on_the_cpu_decodes_in_numpy(monkeypatch):
    calls, searches = [], []
    real, real_beam = decomposer_module.greedy_row, decomposer_module.beam_row
    monkeypatch.setattr(decomposer_module, "greedy_row", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(decomposer_module, "beam_row", lambda *a: searches.append(1) or real_beam(*a))
    decomposer, both, requests = _requests(4, rows=2)
    with torch.inference_mode():
        assert decomposer.decode(requests[0], *ARGS, 12, 3)[-1].tolist() in ([GREEDY], [SEARCHED])
        assert len(calls) == 1
        decomposer.generate(both, *ARGS, 12)  # a batch: torch
        decomposer.train()
        decomposer.generate(requests[0], *ARGS, 12)  # training (dropout): torch
        decomposer.eval()
        half = type(requests[0])(*(v.bfloat16() if v.is_floating_point() else v for v in vars(requests[0]).values()))
        searched = len(searches)  # 1 if decode's greedy plan above was not certified, else 0
        decomposer.beam_search(requests[0], *ARGS, 12, 3)
        assert len(searches) == searched + 1
        decomposer.beam_search(both, *ARGS, 12, 3)  # a batch: torch
        decomposer.bfloat16().generate(half, *ARGS, 12)  # bfloat16: torch
        decomposer.beam_search(half, *ARGS, 12, 3)
    assert len(calls) == 1 and len(searches) == searched + 1


def _leaves(value, path: str = ""):
    """(path, leaf) of every number, string, bool and None in a plan."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def test_the_bundled_planner_plans_the_same_with_and_without_row_decoding():
    """The same plans: steps, workers, links and decodings alike; estimates alike to rounding (their node
    states differ in the sixth decimal, which moves a latency of 10 s by a tenth of a millisecond)."""
    from orchestai_core.config import load_config
    from orchestai_core.planner_api import Planner
    from orchestai_core.synth import generate_logs

    planner = Planner.load(load_config()["paths"]["default_planner"], "cpu")
    for log in generate_logs(30, seed=11):
        fast, slow = (dict(_leaves(plan)) for plan in _both(planner.model.decomposer, planner.plan, log["instruction"]))
        assert fast.keys() == slow.keys()
        for path, value in fast.items():
            if isinstance(value, float) and "planning_ms" not in path:
                assert value == pytest.approx(slow[path], rel=1e-4, abs=1e-4), path
            elif "planning_ms" not in path:
                assert value == slow[path], path
    assert planner.decoded["greedy"] > 0 and planner.decoded["greedy"] % 2 == 0 and planner.decoded["search"] % 2 == 0


def test_weights_changed_after_a_plan_are_read_by_the_next_one():
    """The row's arrangement of the weights is kept between plans (`row_weights`), and arranged again once a
    weight changes: in place, as an optimizer step or loading a checkpoint changes it, or by a new tensor."""
    from orchestai_core.model.row_decoding import row_weights

    decomposer, _, requests = _requests(0, rows=4)
    with torch.inference_mode():
        first = row_weights(decomposer)
        assert row_weights(decomposer) is first  # unchanged weights: the same arrangement
        before = [decomposer._greedy(r, *ARGS, 12, certify=True) for r in requests]
    with torch.no_grad():
        decomposer.out[-1].bias[TYPES["t3"]] += 3.0  # in place: every plan now leans to t3
    with torch.inference_mode():
        assert row_weights(decomposer) is not first
        for request in requests:
            _assert_same(*_both(decomposer, decomposer._greedy, request, *ARGS, 12, certify=True))
        assert any(not torch.equal(decomposer._greedy(r, *ARGS, 12)[0], b[0]) for r, b in zip(requests, before))
    state = {k: v.clone() for k, v in decomposer.state_dict().items()}
    state["lstm2.weight_hh_l0"] = torch.randn_like(state["lstm2.weight_hh_l0"])
    decomposer.load_state_dict(state)
    with torch.inference_mode():
        for request in requests:
            _assert_same(*_both(decomposer, decomposer._greedy, request, *ARGS, 12, certify=True))
    decomposer.lstm.weight_hh_l0 = torch.nn.Parameter(torch.randn_like(decomposer.lstm.weight_hh_l0))  # a new tensor
    with torch.inference_mode():
        for request in requests:
            _assert_same(*_both(decomposer, decomposer._greedy, request, *ARGS, 12, certify=True))

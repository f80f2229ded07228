"""The step order (`model/ordering.py`): where a request asks for each step, learnt from plans' orders, and the
re-ordering of chain plans it drives (`best_order`, `Planner.reorder`)."""

import numpy as np
import pytest
import torch

from orchestai_core.dag import Graph
from orchestai_core.model.decode import DecodedPlan
from orchestai_core.model.ordering import MAX_PERMUTED, StepOrder, best_order, fit_step_order, is_chain

CHAIN3 = [[], [0], [1]]
TYPES = ["book_flight", "cancel_flight", "query_weather", "send_email"]
WIDTH = 16


def _names(seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {t: torch.randn(WIDTH, generator=generator) for t in TYPES}


def _requests(n: int, seed: int) -> tuple[list[torch.Tensor], list[list[str]]]:
    """Requests of noise tokens in which each step's type name is written (its vector, with noise) at a random
    place, and plans that run the steps in the order the request writes them."""
    names, generator = _names(), torch.Generator().manual_seed(seed)
    tokens, plans = [], []
    for _ in range(n):
        length = int(torch.randint(8, 20, (1,), generator=generator))
        steps = int(torch.randint(2, 4, (1,), generator=generator))
        chosen = [TYPES[i] for i in torch.randperm(len(TYPES), generator=generator)[:steps].tolist()]
        places = sorted(torch.randperm(length, generator=generator)[:steps].tolist())
        state = 0.3 * torch.randn(length, WIDTH, generator=generator)
        order = torch.randperm(steps, generator=generator).tolist()  # which chosen type sits at which place
        for place, k in zip(places, order):
            state[place] += names[chosen[k]]
        tokens.append(state)
        plans.append([chosen[k] for k in order])
    return tokens, plans


def test_best_order_follows_the_places_when_they_outweigh_the_plans_own_order():
    assert best_order(["a", "b", "c"], CHAIN3, [0.9, 0.1, 0.5], 16.0) == [1, 2, 0]
    assert best_order(["a", "b", "c"], CHAIN3, [0.9, 0.1, 0.5], 1.0) is None  # the plan's own order wins
    assert best_order(["a", "b", "c"], CHAIN3, [0.1, 0.5, 0.9], 16.0) is None  # already in the request's order


def test_best_order_finds_the_best_of_every_order():
    """The dynamic programme finds an order of the best score, checked against weighing all of them."""
    import itertools
    import random

    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(2, 6)
        places, weight = [rng.random() for _ in range(n)], rng.choice([1.0, 4.0, 16.0])
        prefer = [[(1.0 if a < b else -1.0) + weight * (places[b] - places[a]) for b in range(n)] for a in range(n)]
        top = max(_score(prefer, order) for order in itertools.permutations(range(n)))
        found = best_order(list("abcdef"[:n]), [[]] + [[i] for i in range(n - 1)], places, weight)
        own = _score(prefer, list(range(n)))
        if found is None:
            assert own == pytest.approx(top)  # the plan's own order is among the best
        else:
            assert sorted(found) == list(range(n)) and _score(prefer, found) == pytest.approx(top)
            assert top > own + 1e-9  # another order scores strictly more than the plan's own


def _score(prefer: list[list[float]], order: list[int]) -> float:
    return sum(prefer[order[i]][order[j]] for i in range(len(order)) for j in range(i + 1, len(order)))


def test_best_order_keeps_what_it_cannot_weigh():
    assert best_order(["a", "b", "c"], CHAIN3, [0.9, 0.1, 0.5], 0.0) is None  # weight 0: off
    assert best_order(["a", "b", "c"], CHAIN3, None, 16.0) is None  # no places (a type the order never learnt)
    assert best_order(["a", "b", "c"], [[], [0], [0]], [0.9, 0.1, 0.5], 16.0) is None  # branches, not a chain
    assert best_order(["a"], [[]], [0.5], 16.0) is None
    n = MAX_PERMUTED + 1
    assert best_order(list("abcdefghi")[:n], [[]] + [[i] for i in range(n - 1)], list(np.linspace(1, 0, n)),
                      16.0) is None
    assert best_order(list("abcdefghi")[:n - 1], [[]] + [[i] for i in range(n - 2)], list(np.linspace(1, 0, n - 1)),
                      16.0) == list(range(n - 2, -1, -1))  # the longest chain it re-orders
    assert is_chain(CHAIN3) and is_chain([[]]) and not is_chain([[], [], [1]]) and not is_chain([[], [0], [0, 1]])


def test_a_fitted_order_places_steps_where_the_request_writes_them():
    tokens, plans = _requests(300, seed=1)
    order = fit_step_order(tokens, plans, _names(), epochs=20)
    held_tokens, held_plans = _requests(60, seed=2)
    right = total = 0
    for state, plan in zip(held_tokens, held_plans):
        shuffled = list(reversed(plan))
        (places,) = order.places(state.unsqueeze(0), torch.ones(1, len(state), dtype=torch.bool), [shuffled])
        steps = best_order(shuffled, [[]] + [[i] for i in range(len(plan) - 1)], places, 16.0)
        found = shuffled if steps is None else [shuffled[i] for i in steps]
        right += found == plan
        total += 1
    assert right / total >= 0.9, right / total


def test_an_order_survives_its_checkpoint_entry():
    tokens, plans = _requests(40, seed=3)
    order = fit_step_order(tokens, plans, _names(), epochs=2)
    order.weight = 4.0
    again = StepOrder.from_dict(order.to_dict())
    mask = torch.ones(1, len(tokens[0]), dtype=torch.bool)
    assert again.weight == 4.0 and again.types == order.types
    assert again.places(tokens[0].unsqueeze(0), mask, [plans[0]]) == order.places(tokens[0].unsqueeze(0), mask,
                                                                                   [plans[0]])
    assert order.places(tokens[0].unsqueeze(0), mask, [["never_seen", plans[0][0]]]) == [None]


def test_nothing_to_learn_from_plans_of_one_type():
    tokens, _ = _requests(5, seed=4)
    assert fit_step_order(tokens, [["book_flight"]] * 5, _names()) is None
    with pytest.raises(ValueError, match="one request per plan"):
        fit_step_order(tokens, [["book_flight"]], _names())
    with pytest.raises(ValueError, match="no name vector"):
        fit_step_order(tokens[:1], [["book_flight", "unknown_tool"]], _names())


class _Places:
    """An order whose places are given: what `Planner.reorder` reads of it."""

    def __init__(self, places, weight):
        self.found, self.weight = places, weight

    def places(self, states, mask, plans):
        return self.found


def test_the_planner_reorders_a_chain_with_its_workers_scores_and_estimates():
    from orchestai_core.planner_api import Planner

    plan = DecodedPlan(Graph(["a", "b", "c"], ["x", "y", "z"], CHAIN3), [{"x": 0.9}, {"y": 0.8}, {"z": 0.7}], True)
    branches = DecodedPlan(Graph(["a", "b", "c"], ["x", "y", "z"], [[], [0], [0]]), [{}, {}, {}], True)
    rows = [{"types": torch.tensor([4, 5, 6]), "p": np.array([[0.1], [0.2], [0.3]])},
            {"types": torch.tensor([4, 5, 6])}]
    decoded = [plan, branches]
    Planner.reorder(None, torch.zeros(2, 3, 4), torch.ones(2, 3), decoded, rows,
                    _Places([[0.9, 0.1, 0.5], [0.9, 0.1, 0.5]], 16.0))
    assert decoded[0].graph == Graph(["b", "c", "a"], ["y", "z", "x"], CHAIN3)
    assert decoded[0].worker_probs == [{"y": 0.8}, {"z": 0.7}, {"x": 0.9}] and decoded[0].raw_acyclic
    assert rows[0]["types"].tolist() == [5, 6, 4] and rows[0]["p"][:, 0].tolist() == [0.2, 0.3, 0.1]
    assert decoded[1] is branches and rows[1]["types"].tolist() == [4, 5, 6]  # not a chain: as planned

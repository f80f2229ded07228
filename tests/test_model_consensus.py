"""Consensus decoding: agreement between plans, the vote, and fitting the model's weight on validation logs."""

import math

import pytest
import torch

from orchestai_core.dag import Graph
from orchestai_core.model.consensus import (
    ConsensusSettings,
    agreement,
    candidate_weights,
    choose,
    fit_model_weight,
    vote,
)
from orchestai_core.model.retrieval import PlanIndex, pool


def chain(*types):
    return Graph(list(types), [None] * len(types), [[]] + [[i] for i in range(len(types) - 1)])


SEARCH_THEN_MAIL = chain("search", "send_email")
TRANSCRIBE_THEN_MAIL = chain("transcribe", "summarize", "send_email")


def test_agreement_is_one_for_the_same_plan_zero_for_disjoint_and_the_f1_mean_between():
    assert agreement(SEARCH_THEN_MAIL, SEARCH_THEN_MAIL) == 1.0
    assert agreement(SEARCH_THEN_MAIL, chain("translate")) == 0.0
    # nodes: overlap 1 of 2 and 3 → F1 0.4; edges: none shared → 0
    assert agreement(SEARCH_THEN_MAIL, TRANSCRIBE_THEN_MAIL) == pytest.approx(0.2)


def test_candidate_weights_fall_with_distance_and_the_model_gets_its_share_of_the_total():
    weights = candidate_weights([0.9, 0.8], model_weight=0.5, sharpness=10.0)
    assert weights[1] == 1.0 and weights[2] == pytest.approx(math.exp(-1.0))
    assert weights[0] == pytest.approx(0.5 * (1.0 + math.exp(-1.0)))


def test_neighbours_that_agree_outvote_a_lone_model_plan():
    neighbours = [TRANSCRIBE_THEN_MAIL, TRANSCRIBE_THEN_MAIL, SEARCH_THEN_MAIL]
    settings = ConsensusSettings(model_weight=0.25, sharpness=0.0)
    assert choose(SEARCH_THEN_MAIL, neighbours, [0.9, 0.9, 0.9], settings) == 0


def test_a_heavy_model_weight_keeps_the_model_plan():
    neighbours = [TRANSCRIBE_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    assert choose(SEARCH_THEN_MAIL, neighbours, [0.9, 0.9], ConsensusSettings(model_weight=5.0)) is None


def test_a_tie_keeps_the_model_plan():
    # model and the one neighbour weigh the same and disagree completely: each agrees only with itself
    assert vote([SEARCH_THEN_MAIL, chain("translate")], [1.0, 1.0]) == 0
    assert choose(SEARCH_THEN_MAIL, [chain("translate")], [0.5], ConsensusSettings(model_weight=1.0)) is None


def test_off_keeps_the_model_plan_whatever_the_neighbours_say():
    assert choose(SEARCH_THEN_MAIL, [TRANSCRIBE_THEN_MAIL] * 5, [1.0] * 5, ConsensusSettings(None)) is None


def test_vote_needs_one_weight_per_candidate():
    with pytest.raises(ValueError, match="2 weights for 3 candidates"):
        vote([SEARCH_THEN_MAIL] * 3, [1.0, 1.0])


@pytest.mark.parametrize("fields, message", [
    ({"model_weight": -0.1}, "model_weight must be >= 0"),
    ({"model_weight": 0.2, "k": 0}, "k must be at least 1"),
    ({"model_weight": 0.2, "sharpness": -1.0}, "sharpness must be >= 0"),
])
def test_settings_refuse_what_cannot_vote(fields, message):
    with pytest.raises(ValueError, match=message):
        ConsensusSettings(**fields)


def test_settings_round_trip_through_a_dict():
    settings = ConsensusSettings(0.4, k=7, sharpness=12.5)
    assert ConsensusSettings.from_dict(settings.to_dict()) == settings
    assert not ConsensusSettings.from_dict({"model_weight": None}).on


def test_fit_stays_off_when_the_model_alone_plans_validation_best():
    gold = [SEARCH_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    neighbours = [[TRANSCRIBE_THEN_MAIL] * 3, [SEARCH_THEN_MAIL] * 3]
    settings, table = fit_model_weight(gold, neighbours, [[0.9] * 3] * 2, gold)
    assert settings.model_weight is None
    assert set(table) == {"off", "0.25", "0.4", "0.6"}
    assert table["off"]["node_f1"] == 1.0 and table["0.25"]["node_f1"] < 1.0


def test_fit_turns_consensus_on_when_the_neighbours_plan_validation_better():
    gold = [TRANSCRIBE_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    model_plans = [SEARCH_THEN_MAIL, SEARCH_THEN_MAIL]
    neighbours = [[TRANSCRIBE_THEN_MAIL] * 3] * 2
    settings, table = fit_model_weight(model_plans, neighbours, [[0.9] * 3] * 2, gold)
    assert settings.on and settings.model_weight == 0.25  # the first weight that reaches the best
    assert table[str(settings.model_weight)]["exact_match"] == 1.0 and table["off"]["exact_match"] == 0.0


def test_pool_averages_only_real_tokens_and_normalises():
    states = torch.tensor([[[3.0, 0.0], [0.0, 4.0], [100.0, 100.0]]])
    vector = pool(states, torch.tensor([[1, 1, 0]]))
    assert torch.allclose(vector, torch.tensor([[0.6, 0.8]]))


def test_index_returns_the_nearest_plans_first_and_at_most_what_it_holds():
    plans = [{"instruction": f"r{i}", "types": ["t"], "workers": [None], "parents": [[]]} for i in range(3)]
    index = PlanIndex(torch.eye(3), plans)
    indices, sims = index.nearest(torch.tensor([[0.0, 0.6, 0.8]]), k=5)
    assert indices == [[2, 1, 0]] and sims[0] == pytest.approx([0.8, 0.6, 0.0])
    with pytest.raises(ValueError, match="2 vectors for 3 plans"):
        PlanIndex(torch.eye(3)[:2], plans)

"""Consensus decoding: agreement between plans, the vote, and fitting the model's weight on validation logs."""

import math
from dataclasses import replace

import pytest
import torch

from orchestai_core.dag import Graph
from orchestai_core.model.consensus import (
    ConsensusSettings,
    agreement,
    agreements,
    candidate_weights,
    choose,
    fit_settings,
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


def test_the_agreement_matrix_compares_each_distinct_plan_once_and_is_every_pair_s_agreement():
    plans = [SEARCH_THEN_MAIL, TRANSCRIBE_THEN_MAIL, SEARCH_THEN_MAIL, chain("translate"), TRANSCRIBE_THEN_MAIL,
             Graph(["search", "send_email"], ["w", None], [[], []]), chain("search", "send_email")]
    matrix = agreements(plans)
    assert matrix.shape == (7, 7)
    assert all(matrix[a, b] == agreement(plans[a], plans[b]) for a in range(7) for b in range(7))
    assert matrix[0, 2] == matrix[0, 6] == 1.0 and matrix[0, 5] == 0.5  # the same steps, no link: 0.5


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
    settings = ConsensusSettings(0.4, k=7, sharpness=12.5, presence_weight=0.8)
    assert ConsensusSettings.from_dict(settings.to_dict()) == settings
    learned = ConsensusSettings(0.25, k=20, sharpness=40.0, learned=True)
    assert ConsensusSettings.from_dict(learned.to_dict()) == learned
    assert ConsensusSettings.from_dict({"model_weight": 0.4}).presence_weight == 0.0  # fitted before presence
    assert not ConsensusSettings.from_dict({"model_weight": 0.4}).learned  # fitted before the learnt similarity
    assert not ConsensusSettings.from_dict({"model_weight": None}).on


def test_fit_stays_off_when_the_model_alone_plans_validation_best():
    gold = [SEARCH_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    neighbours = [[TRANSCRIBE_THEN_MAIL] * 3, [SEARCH_THEN_MAIL] * 3]
    settings, table = fit_settings(gold, neighbours, [[0.9] * 3] * 2, gold)
    assert settings.model_weight is None
    assert set(table) == {"off", "0.25", "0.4", "0.6"}
    assert table["off"]["node_f1"] == 1.0 and table["0.25"]["node_f1"] < 1.0


def test_fit_turns_consensus_on_when_the_neighbours_plan_validation_better():
    gold = [TRANSCRIBE_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    model_plans = [SEARCH_THEN_MAIL, SEARCH_THEN_MAIL]
    neighbours = [[TRANSCRIBE_THEN_MAIL] * 3] * 2
    settings, table = fit_settings(model_plans, neighbours, [[0.9] * 3] * 2, gold)
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


def test_an_index_under_other_vectors_shares_its_plans_and_ranks_by_the_new_vectors():
    plans = [{"id": f"log-{i}", "instruction": f"r{i}", "types": ["t"], "workers": [None], "parents": [[]]}
             for i in range(3)]
    index = PlanIndex(torch.eye(3), plans)
    other = index.with_vectors(torch.eye(3).flip(0))  # plan 0 now lies where plan 2 did
    assert other.graphs is index.graphs and other.rows is index.rows and other.plans is index.plans
    assert other.nearest(torch.tensor([[0.0, 0.0, 1.0]]), k=1)[0] == [[0]]
    assert index.nearest(torch.tensor([[0.0, 0.0, 1.0]]), k=1)[0] == [[2]]  # the original keeps its vectors
    assert other.nearest(torch.tensor([[0.0, 0.6, 0.8]]), k=1, leave_out=["log-0"])[0] == [[1]]
    with pytest.raises(ValueError, match=r"one vector per training plan: got \(2, 3\) vectors for 3 plans"):
        index.with_vectors(torch.eye(3)[:2])


def test_presence_separates_neighbours_that_split_the_vote():
    # two neighbours as near as each other, one plan each: the plans alone tie, and the tie keeps the first
    candidates = [SEARCH_THEN_MAIL, TRANSCRIBE_THEN_MAIL, SEARCH_THEN_MAIL]
    weights = [0.0, 1.0, 1.0]
    assert vote(candidates, weights) == 0
    # the classifier expects the transcription's types: it decides
    presence = [0.4, 0.9, 0.4]
    assert vote(candidates, weights, presence=presence, presence_weight=0.4) == 1
    assert vote(candidates, weights, presence=presence, presence_weight=0.0) == 0  # weight 0: plans vote alone
    with pytest.raises(ValueError, match="2 presence scores for 3 candidates"):
        vote(candidates, weights, presence=[0.1, 0.2], presence_weight=0.4)


def test_choose_passes_presence_scores_to_the_vote():
    settings = ConsensusSettings(0.0, k=2, presence_weight=1.0)
    neighbours = [SEARCH_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    assert choose(SEARCH_THEN_MAIL, neighbours, [0.9, 0.9], settings, presence=[0.1, 0.1, 1.0]) == 1
    assert choose(SEARCH_THEN_MAIL, neighbours, [0.9, 0.9], replace(settings, presence_weight=0.0),
                  presence=[0.1, 0.1, 1.0]) is None


def test_fit_tries_presence_weights_only_with_scores_and_keeps_one_only_when_it_plans_better():
    gold = [TRANSCRIBE_THEN_MAIL, SEARCH_THEN_MAIL]
    model_plans = [SEARCH_THEN_MAIL, SEARCH_THEN_MAIL]
    # the neighbours split evenly, so the plain vote keeps the search (the model's plan and one neighbour agree):
    # right for the second log only
    neighbours = [[TRANSCRIBE_THEN_MAIL, SEARCH_THEN_MAIL]] * 2
    sims = [[0.9, 0.9]] * 2
    settings, table = fit_settings(model_plans, neighbours, sims, gold)
    assert set(table) == {"off", "0.25", "0.4", "0.6"} and settings.presence_weight == 0.0
    # a classifier that reads each request right: the transcription for the first, the search for the second
    scores = [[0.2, 1.0, 0.2], [1.0, 0.2, 1.0]]
    settings, table = fit_settings(model_plans, neighbours, sims, gold, scores)
    assert "0.25 presence 0.2" in table and "0.6 presence 0.8" in table and len(table) == 1 + 3 * 4
    assert settings.presence_weight > 0 and table[settings.label]["exact_match"] == 1.0
    assert table["0.25"]["exact_match"] < 1.0
    # scores that say nothing: the plans' vote alone is kept (it ties, and the simpler setting wins ties)
    settings, _ = fit_settings(model_plans, neighbours, sims, gold, [[0.5, 0.5, 0.5]] * 2)
    assert settings.presence_weight == 0.0


def test_a_fit_under_the_learnt_similarity_says_so_in_its_settings_and_labels():
    gold = [TRANSCRIBE_THEN_MAIL, TRANSCRIBE_THEN_MAIL]
    model_plans = [SEARCH_THEN_MAIL, SEARCH_THEN_MAIL]
    neighbours = [[TRANSCRIBE_THEN_MAIL] * 3] * 2
    settings, table = fit_settings(model_plans, neighbours, [[0.9] * 3] * 2, gold, k=3, sharpness=40.0, learned=True)
    assert settings == ConsensusSettings(0.25, 3, 40.0, learned=True)
    assert set(table) == {"off", "0.25 learned", "0.4 learned", "0.6 learned"}  # off is off, whatever the similarity
    # and when the model alone plans best, off is kept, not "learned"
    settings, _ = fit_settings(gold, neighbours, [[0.9] * 3] * 2, gold, learned=True)
    assert not settings.on and not settings.learned


def test_settings_describe_themselves_in_words():
    assert ConsensusSettings(None).describe() == "off (the model's plans as decoded)"
    assert ConsensusSettings(0.4, k=10).describe() == \
        "on (the model's plan and its 10 nearest training plans vote; model weight 0.4)"
    assert ConsensusSettings(0.25, k=20, presence_weight=0.2, learned=True).describe() == (
        "on (the model's plan and its 20 nearest training plans vote, nearest by the similarity learnt from the "
        "plans; model weight 0.25, type-presence weight 0.2)")


def test_settings_label_names_the_weights():
    assert ConsensusSettings(None).label == "off"
    assert ConsensusSettings(0.4).label == "0.4"
    assert ConsensusSettings(0.4, presence_weight=0.8).label == "0.4 presence 0.8"
    assert ConsensusSettings(0.4, presence_weight=0.8, learned=True).label == "0.4 presence 0.8 learned"
    with pytest.raises(ValueError, match="presence_weight must be >= 0"):
        ConsensusSettings(0.4, presence_weight=-1.0)

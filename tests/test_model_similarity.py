"""The similarity learnt from plans: its targets, what it learns, and how it is kept."""

import random
from collections import Counter

import pytest
import torch

from orchestai_core.evaluate import multiset_f1
from orchestai_core.model.similarity import LearnedSimilarity, fit_similarity, plan_agreement


def test_plan_agreement_is_the_node_f1_of_every_two_plans():
    plans = [["search", "summarize"], ["search", "search", "email"], ["email"], [], ["summarize", "search"], []]
    matrix = plan_agreement(plans)
    assert matrix.shape == (6, 6)
    for i, a in enumerate(plans):
        for j, b in enumerate(plans):
            assert matrix[i, j].item() == pytest.approx(multiset_f1(Counter(a), Counter(b)))
    # by hand: repeated types count as many times as they repeat; order does not matter; two empty plans agree
    assert matrix[0, 1].item() == pytest.approx(2 * 1 / (2 + 3))
    assert matrix[0, 4].item() == 1.0 and matrix[3, 5].item() == 1.0 and matrix[2, 3].item() == 0.0


def test_plan_agreement_matches_multiset_f1_on_random_plans_with_repeats():
    rng = random.Random(3)
    plans = [[rng.choice("abcde") for _ in range(rng.randint(1, 6))] for _ in range(40)]
    matrix = plan_agreement(plans)
    for i, a in enumerate(plans):
        for j, b in enumerate(plans):
            assert matrix[i, j].item() == pytest.approx(multiset_f1(Counter(a), Counter(b)), abs=1e-6)


def _requests(n: int, seed: int) -> tuple[torch.Tensor, list[list[str]]]:
    """Vectors whose plan is told by a faint direction (0) while the others are loud noise: by the plain
    cosine a request's nearest neighbour is the one with the most alike noise, whatever its plan."""
    generator = torch.Generator().manual_seed(seed)
    kind = torch.randint(0, 2, (n,), generator=generator)
    vectors = torch.zeros(n, 6)
    vectors[:, 0] = torch.where(kind == 1, 0.3, -0.3)
    vectors[:, 1:] = torch.randn(n, 5, generator=generator)
    vectors = torch.nn.functional.normalize(vectors, dim=-1)
    plans = [["translate", "email"] if k else ["search", "summarize", "report"] for k in kind.tolist()]
    return vectors, plans


def _nearest_shares_the_plan(vectors: torch.Tensor, plans: list[list[str]]) -> float:
    scores = vectors @ vectors.T
    scores.fill_diagonal_(float("-inf"))
    nearest = scores.argmax(1).tolist()
    return sum(plans[i] == plans[j] for i, j in enumerate(nearest)) / len(plans)


def test_the_learnt_similarity_brings_requests_with_alike_plans_together():
    vectors, plans = _requests(300, seed=1)
    plain = _nearest_shares_the_plan(vectors, plans)
    assert plain < 0.75  # the noise decides many plain neighbours
    # the default's few epochs move the map a little from the plain cosine (what they are worth on real
    # requests, benchmarks/real_requests_bench.py measures); given time, it learns the direction that matters
    brief, similarity = (fit_similarity(vectors, plans, epochs=e) for e in (10, 200))
    shares = [_nearest_shares_the_plan(s.project(vectors), plans) for s in (brief, similarity)]
    assert plain <= shares[0] < shares[1] and shares[1] > 0.98
    # on new requests too, against the requests it learnt from
    fresh, fresh_plans = _requests(100, seed=2)
    scores = similarity.project(fresh) @ similarity.project(vectors).T
    nearest = scores.argmax(1).tolist()
    assert sum(fresh_plans[i] == plans[j] for i, j in enumerate(nearest)) / 100 > 0.95


def test_fitting_is_deterministic_and_the_similarity_round_trips():
    vectors, plans = _requests(80, seed=4)
    first, second = fit_similarity(vectors, plans), fit_similarity(vectors, plans)
    assert torch.equal(first.matrix, second.matrix)
    assert not torch.equal(first.matrix, torch.eye(6))  # it learnt something
    again = LearnedSimilarity.from_dict(first.to_dict())
    assert torch.equal(again.matrix, first.matrix) and again.width == 6
    projected = first.project(vectors)
    assert projected.shape == (80, 6)
    assert torch.allclose(projected.norm(dim=1), torch.ones(80), atol=1e-5)


def test_vectors_from_inference_mode_can_be_learnt_from():
    vectors, plans = _requests(40, seed=5)
    with torch.inference_mode():
        inferred = vectors.clone()
    assert torch.equal(fit_similarity(inferred, plans).matrix, fit_similarity(vectors, plans).matrix)


def test_too_few_plans_to_compare_keep_the_plain_cosine():
    vectors, plans = _requests(1, seed=6)
    assert torch.equal(fit_similarity(vectors, plans).matrix, torch.eye(6))


def test_shapes_are_checked_with_what_was_expected():
    vectors, plans = _requests(10, seed=7)
    with pytest.raises(ValueError, match=r"one vector per plan: got \(10, 6\) vectors for 9 plans"):
        fit_similarity(vectors, plans[:9])
    with pytest.raises(ValueError, match=r"square matrix, got \(6, 5\)"):
        LearnedSimilarity(torch.zeros(6, 5))
    with pytest.raises(ValueError, match=r"reads vectors of width 6, got \(10, 5\)"):
        LearnedSimilarity(torch.eye(6)).project(vectors[:, :5])


def test_past_its_cap_it_learns_from_a_seeded_sample(monkeypatch):
    import orchestai_core.model.similarity as similarity_module

    vectors, plans = _requests(80, seed=8)
    compared = []
    agreement = similarity_module.plan_agreement
    monkeypatch.setattr(similarity_module, "plan_agreement", lambda p: compared.append(len(p)) or agreement(p))
    whole = fit_similarity(vectors, plans)
    monkeypatch.setattr(similarity_module, "MAX_REQUESTS", 50)
    first, second = fit_similarity(vectors, plans), fit_similarity(vectors, plans)
    assert compared == [80, 50, 50]  # every pair of the sample's plans, never of all 80
    assert torch.equal(first.matrix, second.matrix) and not torch.equal(first.matrix, whole.matrix)
    assert first.project(vectors).shape == (80, 6)  # and it maps every request

"""The index of training requests: how near a new request's nearest one is, against how near they are to one another."""

import pytest
import torch

from orchestai_core.model.retrieval import PlanIndex, familiar_floor


def _cluster(centre: torch.Tensor, n: int, spread: float, seed: int) -> torch.Tensor:
    noise = torch.randn(n, centre.shape[0], generator=torch.Generator().manual_seed(seed)) * spread
    return torch.nn.functional.normalize(centre + noise, dim=-1)


def test_the_floor_is_the_low_quantile_of_each_requests_similarity_to_its_nearest_other():
    vectors = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]]), dim=-1)
    # each one's nearest other, by hand: 0.8, 0.8, 0.6 (the third's is the second) and 0.0 (the last's is the third)
    assert familiar_floor(vectors, quantile=0.0) == pytest.approx(0.0, abs=1e-6)
    assert familiar_floor(vectors, quantile=1.0) == pytest.approx(0.8)
    assert familiar_floor(vectors, quantile=0.5) == pytest.approx(0.7)  # halfway between 0.6 and 0.8
    assert familiar_floor(vectors[:1]) is None


def test_a_request_from_elsewhere_falls_below_the_floor_and_one_like_the_index_does_not():
    centres = torch.eye(16)[:3] * 3
    index = torch.cat([_cluster(c, 200, 0.5, seed) for seed, c in enumerate(centres)])
    floor = familiar_floor(index)
    plans = [{"instruction": f"request {i}", "types": ["a"], "workers": [None], "parents": [[]]}
             for i in range(len(index))]
    nearest = PlanIndex(index, plans).nearest
    like = _cluster(centres[1], 50, 0.5, seed=7)
    elsewhere = _cluster(torch.eye(16)[5] * 3, 50, 0.5, seed=8)
    like_sims = torch.tensor([s[0] for s in nearest(like, 1)[1]])
    elsewhere_sims = torch.tensor([s[0] for s in nearest(elsewhere, 1)[1]])
    assert (elsewhere_sims < floor).all()
    assert (like_sims >= floor).float().mean() >= 0.95  # 1 in 100 of the index's own fall below it


def test_a_large_index_finds_its_floor_from_a_seeded_sample_of_its_requests():
    index = _cluster(torch.ones(8), 3000, 1.0, seed=3)
    sampled = familiar_floor(index, sample=500)
    assert sampled == familiar_floor(index, sample=500)  # the same draw every time
    assert sampled == pytest.approx(familiar_floor(index, sample=3000), abs=0.03)

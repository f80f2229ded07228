"""The type-presence classifier: fitted on request vectors, probabilities per type, and a plan's expected node-F1."""

from collections import Counter

import numpy as np
import pytest
import torch

from orchestai_core.model.presence import TypePresence, expected_f1, fit_presence


def test_fit_learns_which_types_a_direction_of_the_vector_asks_for():
    # requests along the first axis need a transcription, along the second a search; all end with an email
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.95, -0.1], [0.0, 1.0], [0.1, 0.9], [-0.1, 0.95]])
    plans = [["transcribe", "send_email"]] * 3 + [["search", "send_email"]] * 3
    presence = fit_presence(torch.nn.functional.normalize(vectors, dim=1), plans)
    assert presence.types == ["search", "send_email", "transcribe"]
    p = presence.probabilities(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert p.shape == (2, 3)
    column = presence.column
    assert p[0, column["transcribe"]] > 0.9 and p[0, column["search"]] < 0.1
    assert p[1, column["search"]] > 0.9 and p[1, column["transcribe"]] < 0.1
    assert (p[:, column["send_email"]] > 0.95).all()  # every plan has it


def test_fit_is_deterministic_and_round_trips_through_a_dict():
    vectors = torch.nn.functional.normalize(torch.randn(20, 8, generator=torch.Generator().manual_seed(3)), dim=1)
    plans = [["a", "b"] if v[0] > 0 else ["c"] for v in vectors]
    one, two = fit_presence(vectors, plans), fit_presence(vectors, plans)
    assert torch.equal(one.weight, two.weight) and torch.equal(one.bias, two.bias)
    back = TypePresence.from_dict(one.to_dict())
    assert back.types == one.types and np.allclose(back.probabilities(vectors), one.probabilities(vectors))


def test_single_precision_fits_what_double_precision_fits():
    # the fit runs in float32 by default: its probabilities must be those of the float64 fit, to well under a point
    generator = torch.Generator().manual_seed(5)
    vectors = torch.nn.functional.normalize(torch.randn(300, 32, generator=generator), dim=1)
    directions = torch.randn(32, 6, generator=generator)
    logits = vectors @ directions * 4
    plans = [[f"t{j}" for j in range(6) if row[j] > 0] or ["t0"] for row in logits]
    single = fit_presence(vectors, plans)
    double = fit_presence(vectors, plans, dtype=torch.float64)
    assert single.weight.dtype == torch.float32 and single.types == double.types
    gap = np.abs(single.probabilities(vectors) - double.probabilities(vectors))
    assert gap.max() < 0.01
    # and it learnt the directions: most of the types present are predicted present
    p = single.probabilities(vectors)
    truth = np.array([[t in plan for t in single.types] for plan in plans])
    assert ((p > 0.5) == truth).mean() > 0.9


def test_expected_f1_by_hand():
    column = {"a": 0, "b": 1, "c": 2}
    p = np.array([1.0, 1.0, 0.0])  # certainly a and b, certainly not c
    assert expected_f1(Counter(["a", "b"]), p, column) == pytest.approx(1.0)
    assert expected_f1(Counter(["c"]), p, column) == 0.0
    # overlap 1 (a), plan size 2, expected size 2: 2·1/4
    assert expected_f1(Counter(["a", "c"]), p, column) == pytest.approx(0.5)
    # a repeated type counts once in the overlap, twice in the plan's size: 2·1/(3 + 2)
    assert expected_f1(Counter({"a": 2, "unseen": 1}), p, column) == pytest.approx(0.4)
    assert expected_f1(Counter(), np.zeros(3), column) == 0.0


def test_scores_read_each_plans_types():
    presence = TypePresence(["a", "b"], torch.zeros(2, 2), torch.tensor([10.0, -10.0]))
    row = presence.probabilities(torch.zeros(1, 2))[0]

    class Plan:
        def __init__(self, types):
            self.types = types

    first, second = presence.scores([Plan(["a"]), Plan(["b"])], row)
    assert first > 0.99 and second < 0.01


def test_shapes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="one weight column and one bias per type"):
        TypePresence(["a", "b"], torch.zeros(4, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="3 vectors for 2 plans"):
        fit_presence(torch.zeros(3, 4), [["a"], ["b"]])
    presence = TypePresence(["a", "b"], torch.zeros(4, 2), torch.zeros(2))
    with pytest.raises(ValueError, match=r"reads 4 features of a request, got \(1, 3\)"):
        presence.probabilities(torch.zeros(1, 3))


def _named_requests(seed: int = 0):
    """Requests (normalised, 8 wide) near the name of each type their plan needs: types t0..t3 seen often, t4
    once; each type's name is one axis ("end", in every plan, the last)."""
    generator = torch.Generator().manual_seed(seed)
    names = {f"t{j}": torch.eye(8)[j] for j in range(5)} | {"end": torch.eye(8)[7]}
    vectors, plans = [], []
    for j, count in enumerate([30, 30, 30, 30, 1]):
        for _ in range(count):
            vectors.append(names[f"t{j}"] + 0.35 * torch.randn(8, generator=generator))
            plans.append([f"t{j}", "end"])
    return torch.nn.functional.normalize(torch.stack(vectors), dim=1), plans, names


def test_names_lend_a_rarely_seen_type_the_strength_of_the_others():
    vectors, plans, names = _named_requests()
    alone, named = fit_presence(vectors, plans), fit_presence(vectors, plans, names=names)
    assert named.name_weight > 1.0  # the names of the common types predict them: the shared weight trusts names
    near_rare = torch.nn.functional.normalize(names["t4"] + 0.3 * torch.ones(8), dim=0).unsqueeze(0)
    column = named.column["t4"]
    assert named.probabilities(near_rare)[0, column] > alone.probabilities(near_rare)[0, column] + 0.2
    # the types the features alone already know keep their probabilities close
    common = vectors[:5]
    assert np.abs(named.probabilities(common)[:, named.column["t0"]]
                  - alone.probabilities(common)[:, alone.column["t0"]]).max() < 0.15


def test_names_round_trip_and_older_classifiers_read_none():
    vectors, plans, names = _named_requests(1)
    named = fit_presence(vectors, plans, names=names)
    saved = named.to_dict()
    back = TypePresence.from_dict(saved)
    assert back.name_weight == named.name_weight and torch.equal(back.names, named.names)
    assert np.allclose(back.probabilities(vectors), named.probabilities(vectors))
    older = TypePresence.from_dict({k: saved[k] for k in ("types", "weight", "bias")})  # saved before names
    assert older.names is None and older.name_weight == 0.0
    assert np.allclose(older.probabilities(vectors),
                       torch.sigmoid(vectors @ named.weight + named.bias).numpy())


def test_names_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="one name vector per type"):
        TypePresence(["a", "b"], torch.zeros(4, 2), torch.zeros(2), names=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="no wider than the 4 features"):
        TypePresence(["a", "b"], torch.zeros(4, 2), torch.zeros(2), names=torch.zeros(2, 5))
    with pytest.raises(ValueError, match="no name vector for the type"):
        fit_presence(torch.eye(2), [["a"], ["b"]], names={"a": torch.ones(2)})

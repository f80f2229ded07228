"""Calibration of predicted success: reliability bins and the expected calibration error on hand-made cases
with known answers, the 1/choice_prob weighting, and the synthetic generator's true probabilities."""

import numpy as np
import pytest

from orchestai_core.catalogue import load_catalogue
from orchestai_core.outcomes import steps_from_logs
from orchestai_core.outcomes.calibration import expected_calibration_error, logged_calibration, reliability_curve
from orchestai_core.synth import generate_logs, success_matrix


def test_predictions_matching_each_bins_observed_rate_have_zero_ece():
    # 4 steps at 0.25 (1 success), 2 at 0.5 (1 success), 4 at 0.75 (3 successes)
    predicted = [0.25] * 4 + [0.5] * 2 + [0.75] * 4
    observed = [1, 0, 0, 0] + [1, 0] + [1, 1, 1, 0]
    curve = reliability_curve(predicted, observed, n_bins=4)
    assert curve.ece == pytest.approx(0.0)
    assert [(b.predicted, b.observed, b.count) for b in curve.bins] == [(0.25, 0.25, 4), (0.5, 0.5, 2),
                                                                       (0.75, 0.75, 4)]


def test_known_miscalibration_gives_the_share_weighted_gap():
    # bin [0.8, 0.9): 3 steps at 0.8, 1 success (gap 0.8 − 1/3); bin [0.2, 0.3): 1 step at 0.2, success (gap 0.8)
    predicted, observed = [0.8, 0.8, 0.8, 0.2], [1, 0, 0, 1]
    expected = 0.75 * (0.8 - 1 / 3) + 0.25 * 0.8
    assert expected_calibration_error(predicted, observed, n_bins=10) == pytest.approx(expected)


def test_always_confident_wrong_predictions_have_ece_one():
    assert expected_calibration_error([1.0, 1.0, 0.0], [0, 0, 1]) == pytest.approx(1.0)


def test_bins_have_equal_width_or_equal_mass():
    predicted = [0.05, 0.1, 0.15, 0.2, 0.9, 0.95]
    observed = [0, 0, 0, 1, 1, 1]
    uniform = reliability_curve(predicted, observed, n_bins=2)
    assert [(b.low, b.high, b.count) for b in uniform.bins] == [(0.0, 0.5, 4), (0.5, 1.0, 2)]
    quantile = reliability_curve(predicted, observed, n_bins=3, strategy="quantile")
    assert [b.count for b in quantile.bins] == [2, 2, 2]
    assert quantile.bins[0].low == 0.0 and quantile.bins[-1].high == 1.0


def test_tied_predictions_do_not_make_empty_equal_mass_bins():
    curve = reliability_curve([0.5] * 6 + [0.9], [1, 0, 1, 0, 1, 0, 1], n_bins=4, strategy="quantile")
    assert sum(b.count for b in curve.bins) == 7 and all(b.count for b in curve.bins)


def test_weights_shift_each_bins_means_and_the_ece():
    # one bin; weights 3 and 1: observed rate (3·1 + 1·0)/4 = 0.75 against predicted 0.5
    curve = reliability_curve([0.5, 0.5], [1, 0], n_bins=1, weights=[3.0, 1.0])
    assert curve.weighted and curve.bins[0].observed == pytest.approx(0.75)
    assert curve.bins[0].weight == 4.0 and curve.ece == pytest.approx(0.25)
    assert reliability_curve([0.5, 0.5], [1, 0], n_bins=1).ece == pytest.approx(0.0)


def test_logged_calibration_uses_the_logged_workers_prediction_plain_and_weighted():
    p_hat = np.array([[0.9, 0.1], [0.9, 0.1], [0.2, 0.6]])
    worker, success = np.array([1, 0, 1]), np.array([0, 1, 1])
    result = logged_calibration(p_hat, worker, success, choice_prob=[0.5, 0.5, 0.25], n_bins=10)
    plain, weighted = result["plain"], result["weighted"]
    assert [b.predicted for b in plain.bins] == pytest.approx([0.1, 0.6, 0.9])
    assert plain.ece == pytest.approx((0.1 + 0.4 + 0.1) / 3)
    assert weighted.weighted and not plain.weighted
    assert weighted.ece == pytest.approx((2 * 0.1 + 4 * 0.4 + 2 * 0.1) / 8)


@pytest.mark.parametrize("bad, message", [
    (dict(predicted=[1.2], observed=[1]), "probabilities"),
    (dict(predicted=[0.5], observed=[0.5]), "0 or 1"),
    (dict(predicted=[], observed=[]), "no predictions"),
    (dict(predicted=[0.5], observed=[1], strategy="log"), "unknown binning"),
    (dict(predicted=[0.5], observed=[1], weights=[0.0]), "weights"),
])
def test_bad_input_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        reliability_curve(**bad)


def test_the_generators_true_probabilities_are_calibrated_on_its_logs():
    catalogue = load_catalogue()
    logs = list(generate_logs(400, seed=5, catalogue=catalogue))
    steps, positions = steps_from_logs(logs, catalogue.names())
    truth = np.array([[success_matrix(logs[li], catalogue)[si][w] for w in catalogue.names()]
                      for li, si in positions])
    result = logged_calibration(truth, steps.worker, steps.success, steps.choice_prob, n_bins=10)
    assert result["plain"].n > 1000
    assert result["plain"].ece < 0.03
    assert result["weighted"].ece < 0.05
    # and the ECE sees a known shift of every prediction
    shifted = 0.8 * truth  # every prediction a fifth too low
    assert logged_calibration(shifted, steps.worker, steps.success, steps.choice_prob)["plain"].ece > 0.1

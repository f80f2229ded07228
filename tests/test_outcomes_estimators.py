"""Off-policy estimators: exact values on a hand-made log, unbiasedness and interval coverage on a
simulated bandit whose true policy values are known, and clear errors for bad inputs."""

import numpy as np
import pytest

from orchestai_core.outcomes.estimators import (
    IPS,
    SNIPS,
    DirectMethod,
    DoublyRobust,
    EstimateRow,
    LoggedFeedback,
    OffPolicyEvaluation,
    deterministic_policy,
    effective_sample_size,
    policy_value,
)

# Four decisions, two actions, worked out by hand.
#   weights π(a_i)/pscore_i = 1/0.5, 0.5/0.25, 0/0.8, 0.75/0.5 = 2, 2, 0, 1.5
#   IPS   = (2·1 + 2·0 + 0·1 + 1.5·1) / 4 = 3.5 / 4
#   SNIPS = 3.5 / (2 + 2 + 0 + 1.5) = 7 / 11
#   DM    = (0.6 + 0.5 + 0.5 + 0.6) / 4, the rows being Σ_a π(a) q̂(a)
#   DR    = (0.6 + 2·0.4 + 0.5 + 2·(−0.8) + 0.5 + 0 + 0.6 + 1.5·0.3) / 4 = 1.85 / 4
#   IPS with clip 1.5: weights 1.5, 1.5, 0, 1.5 → (1.5 + 1.5) / 4
HAND = dict(
    action=np.array([0, 1, 0, 1]),
    reward=np.array([1.0, 0.0, 1.0, 1.0]),
    pscore=np.array([0.5, 0.25, 0.8, 0.5]),
    n_actions=2,
    q_hat=np.array([[0.6, 0.4], [0.2, 0.8], [0.9, 0.5], [0.3, 0.7]]),
)
HAND_POLICY = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.25, 0.75]])


def _hand(**changes):
    return LoggedFeedback(**{**HAND, **changes})


@pytest.mark.parametrize("estimator, expected", [
    (IPS(), 3.5 / 4),
    (SNIPS(), 7 / 11),
    (DirectMethod(), 2.2 / 4),
    (DoublyRobust(), 1.85 / 4),
    (IPS(clip=1.5), 3.0 / 4),
    (DoublyRobust(clip=1.5), (0.6 + 1.5 * 0.4 + 0.5 + 1.5 * -0.8 + 0.5 + 0.6 + 1.5 * 0.3) / 4),
])
def test_estimates_on_a_hand_made_log_match_the_hand_computation(estimator, expected):
    assert estimator.estimate(_hand(), HAND_POLICY) == pytest.approx(expected, abs=1e-12)


def test_estimators_are_named_for_their_settings():
    names = [e.name for e in (IPS(), IPS(clip=10), SNIPS(), DirectMethod(), DoublyRobust(), DoublyRobust(clip=2.5))]
    assert names == ["ips", "ips(clip=10)", "snips", "dm", "dr", "dr(clip=2.5)"]


def test_the_logging_policy_evaluated_on_its_own_log_gives_the_logged_mean_under_ips():
    # Target = a policy that takes each logged action with its logged probability: every weight is 1.
    feedback = _hand()
    policy = np.zeros((4, 2))
    policy[np.arange(4), feedback.action] = feedback.pscore
    policy[np.arange(4), 1 - feedback.action] = 1 - feedback.pscore
    assert IPS().estimate(feedback, policy) == pytest.approx(feedback.reward.mean())
    assert SNIPS().estimate(feedback, policy) == pytest.approx(feedback.reward.mean())


def test_deterministic_policy_is_one_hot_and_policy_value_averages_its_rewards():
    policy = deterministic_policy([1, 0, 1], n_actions=3)
    assert policy.tolist() == [[0, 1, 0], [1, 0, 0], [0, 1, 0]]
    rewards = np.array([[0.0, 1.0, 5.0], [2.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    assert policy_value(rewards, policy) == pytest.approx((1 + 2 + 4) / 3)


# A simulated bandit: 300 fixed contexts, 3 actions, known success probabilities.
def _bandit(seed=0, n=300, k=3):
    rng = np.random.default_rng(seed)
    mu = rng.uniform(0.1, 0.9, size=(n, k))  # true expected reward of each action in each context
    logits = rng.normal(size=(n, k))
    logging = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    logging = 0.8 * logging + 0.2 / k  # every action keeps at least 0.2/k probability
    target = deterministic_policy(mu.argmax(axis=1), k)  # the best action: far from the logging policy
    target = 0.9 * target + 0.1 * np.roll(target, 1, axis=1)
    return mu, logging, target


def _log(rng, mu, logging, q_hat=None, bernoulli=True):
    n, k = mu.shape
    action = (rng.random(n)[:, None] > np.cumsum(logging, axis=1)).sum(axis=1)
    action = np.minimum(action, k - 1)
    expected = mu[np.arange(n), action]
    reward = (rng.random(n) < expected).astype(float) if bernoulli else expected
    return LoggedFeedback(action, reward, logging[np.arange(n), action], k, q_hat)


def test_ips_and_dr_are_unbiased_over_many_simulated_logs_while_dm_with_a_wrong_model_is_not():
    mu, logging, target = _bandit()
    truth = policy_value(mu, target)
    wrong_model = np.clip(mu - 0.15, 0, 1)  # a reward model that is systematically pessimistic
    rng = np.random.default_rng(1)
    results = {"ips": [], "dr": [], "dm": []}
    for _ in range(1500):
        feedback = _log(rng, mu, logging, q_hat=wrong_model)
        results["ips"].append(IPS().estimate(feedback, target))
        results["dr"].append(DoublyRobust().estimate(feedback, target))
        results["dm"].append(DirectMethod().estimate(feedback, target))
    # Standard errors of the means over 1500 logs are ≈ 0.002 (IPS) and less (DR).
    assert np.mean(results["ips"]) == pytest.approx(truth, abs=0.01)
    assert np.mean(results["dr"]) == pytest.approx(truth, abs=0.01)
    assert np.mean(results["dm"]) < truth - 0.1


def test_snips_is_close_to_the_truth_on_average():
    mu, logging, target = _bandit(seed=2)
    truth = policy_value(mu, target)
    rng = np.random.default_rng(3)
    estimates = [SNIPS().estimate(_log(rng, mu, logging), target) for _ in range(800)]
    assert np.mean(estimates) == pytest.approx(truth, abs=0.01)


def test_dr_with_a_perfect_reward_model_has_zero_variance_when_rewards_are_deterministic():
    mu, logging, target = _bandit(seed=4)
    truth = policy_value(mu, target)
    rng = np.random.default_rng(5)
    dr, ips = [], []
    for _ in range(50):
        feedback = _log(rng, mu, logging, q_hat=mu, bernoulli=False)
        dr.append(DoublyRobust().estimate(feedback, target))
        ips.append(IPS().estimate(feedback, target))
    assert np.allclose(dr, truth, rtol=0, atol=1e-12)
    assert np.std(ips) > 0.01  # IPS on the same logs does vary


def test_clipping_lowers_the_variance_of_ips():
    mu, logging, target = _bandit(seed=6)
    rng = np.random.default_rng(7)
    logs = [_log(rng, mu, logging) for _ in range(300)]
    plain = [IPS().estimate(f, target) for f in logs]
    clipped = [IPS(clip=2.0).estimate(f, target) for f in logs]
    assert np.std(clipped) < np.std(plain)


def test_the_interval_contains_the_estimate_and_is_deterministic_for_a_seed():
    mu, logging, target = _bandit(seed=8)
    feedback = _log(np.random.default_rng(9), mu, logging, q_hat=mu)
    for estimator in (IPS(), SNIPS(), DirectMethod(), DoublyRobust()):
        low, high = estimator.interval(feedback, target, n_bootstrap=200, seed=11)
        assert low <= estimator.estimate(feedback, target) <= high
        assert (low, high) == estimator.interval(feedback, target, n_bootstrap=200, seed=11)
    wide = IPS().interval(feedback, target, alpha=0.01, n_bootstrap=400, seed=11)
    narrow = IPS().interval(feedback, target, alpha=0.2, n_bootstrap=400, seed=11)
    assert wide[0] < narrow[0] and narrow[1] < wide[1]
    assert (IPS().interval(feedback, target, n_bootstrap=200, seed=12)
            != IPS().interval(feedback, target, n_bootstrap=200, seed=11))


def test_the_95_percent_interval_covers_the_truth_on_most_simulated_logs():
    mu, logging, target = _bandit(seed=10, n=400)
    truth = policy_value(mu, target)
    rng = np.random.default_rng(13)
    covered = {"ips": 0, "dr": 0}
    runs = 60
    for run in range(runs):
        feedback = _log(rng, mu, logging, q_hat=np.full_like(mu, 0.5))
        for name, estimator in (("ips", IPS()), ("dr", DoublyRobust())):
            low, high = estimator.interval(feedback, target, n_bootstrap=300, seed=run)
            covered[name] += low <= truth <= high
    # Binomial(60, 0.95): fewer than 52 covers happens with probability < 0.5 %.
    assert covered["ips"] >= 52 and covered["dr"] >= 52
    assert covered["ips"] <= runs


def test_off_policy_evaluation_runs_every_estimator_on_the_same_feedback():
    ope = OffPolicyEvaluation([DirectMethod(), IPS(), SNIPS(), DoublyRobust()])
    rows = ope.evaluate(_hand(), HAND_POLICY, n_bootstrap=100, seed=0)
    assert [r.estimator for r in rows] == ["dm", "ips", "snips", "dr"]
    assert all(isinstance(r, EstimateRow) and r.low <= r.estimate <= r.high for r in rows)
    assert rows[1].estimate == pytest.approx(3.5 / 4)
    assert rows[1].low == IPS().interval(_hand(), HAND_POLICY, n_bootstrap=100, seed=0)[0]


def test_off_policy_evaluation_refuses_two_estimators_with_the_same_name():
    with pytest.raises(ValueError, match="'ips' appears more than once"):
        OffPolicyEvaluation([IPS(), IPS()])
    with pytest.raises(ValueError, match="at least one estimator"):
        OffPolicyEvaluation([])


@pytest.mark.parametrize("changes, message", [
    (dict(pscore=np.array([0.5, 0.0, 0.8, 0.5])), r"pscore\[1\] = 0.0 is not in \(0, 1\]"),
    (dict(pscore=np.array([0.5, 0.25, 1.2, 0.5])), r"pscore\[2\] = 1.2 is not in \(0, 1\]"),
    (dict(pscore=np.array([0.5, 0.25, np.nan, 0.5])), r"pscore\[2\] = nan"),
    (dict(action=np.array([0, 1, 2, 1])), r"action\[2\] = 2 is out of range for 2 actions"),
    (dict(action=np.array([0, -1, 0, 1])), r"action\[1\] = -1 is out of range"),
    (dict(action=np.array([0.0, 1.0, 0.0, 1.0])), "action must hold integer action indices"),
    (dict(reward=np.array([1.0, 0.0, 1.0])), "same length, got 4, 3, 4"),
    (dict(reward=np.array([1.0, np.inf, 1.0, 1.0])), r"reward\[1\] is not a finite number"),
    (dict(action=np.array([[0, 1, 0, 1]])), "action must be one-dimensional"),
    (dict(q_hat=np.ones((4, 3))), r"q_hat must have shape \(n, n_actions\) = \(4, 2\), got \(4, 3\)"),
    (dict(n_actions=0), "n_actions must be a positive integer"),
    (dict(action=np.array([], dtype=int), reward=[], pscore=[], q_hat=None), "holds no decisions"),
])
def test_invalid_feedback_is_refused_with_a_clear_error(changes, message):
    with pytest.raises(ValueError, match=message):
        _hand(**changes)


@pytest.mark.parametrize("policy, message", [
    (HAND_POLICY[:3], r"shape \(n, n_actions\) = \(4, 2\), got \(3, 2\)"),
    (np.array([[1.0, 0.0], [0.5, 0.6], [0.0, 1.0], [0.25, 0.75]]), "row 1 sums to 1.1, not 1"),
    (np.array([[1.5, -0.5], [0.5, 0.5], [0.0, 1.0], [0.25, 0.75]]), r"finite numbers in \[0, 1\]"),
])
def test_an_invalid_target_policy_is_refused_by_every_estimator(policy, message):
    for estimator in (IPS(), SNIPS(), DirectMethod(), DoublyRobust()):
        with pytest.raises(ValueError, match=message):
            estimator.estimate(_hand(), policy)


def test_model_based_estimators_say_they_need_q_hat():
    feedback = _hand(q_hat=None)
    with pytest.raises(ValueError, match="DirectMethod needs a reward model's predictions"):
        DirectMethod().estimate(feedback, HAND_POLICY)
    with pytest.raises(ValueError, match="DoublyRobust needs a reward model's predictions"):
        DoublyRobust().interval(feedback, HAND_POLICY)


def test_snips_is_undefined_when_the_target_never_takes_a_logged_action():
    never = deterministic_policy(1 - HAND["action"], 2)
    with pytest.raises(ValueError, match="snips: the target policy gives no weight to any logged action"):
        SNIPS().estimate(_hand(), never)
    assert IPS().estimate(_hand(), never) == 0.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(alpha=0.0), r"alpha must be in \(0, 1\)"),
    (dict(alpha=1.5), r"alpha must be in \(0, 1\)"),
    (dict(n_bootstrap=1), "n_bootstrap must be an integer of at least 2"),
])
def test_interval_settings_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        IPS().interval(_hand(), HAND_POLICY, **kwargs)


def test_clip_must_be_positive():
    with pytest.raises(ValueError, match="clip must be a positive number"):
        IPS(clip=0)
    with pytest.raises(ValueError, match="clip must be a positive number"):
        DoublyRobust(clip=-1.0)


def test_the_effective_sample_size_counts_what_the_weights_are_worth():
    # weights 2, 2, 0, 1.5 (above): (Σw)² / Σw² = 5.5² / (4 + 4 + 0 + 2.25)
    assert effective_sample_size(_hand(), HAND_POLICY) == pytest.approx(5.5 ** 2 / 10.25)
    # the logging policy on its own log: with pscore 1 every weight is 1 and every decision counts
    logged = deterministic_policy(HAND["action"], 2)
    assert effective_sample_size(_hand(pscore=np.ones(4)), logged) == pytest.approx(4.0)
    # a policy that never takes a logged action rests on nothing
    never = deterministic_policy(1 - HAND["action"], 2)
    assert effective_sample_size(_hand(), never) == 0.0
    # one rare agreement dominates: weights 0, 0, 0, 1/0.01 → worth one decision
    rare = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert effective_sample_size(_hand(pscore=np.array([0.5, 0.25, 0.8, 0.01])), rare) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        effective_sample_size(_hand(), np.ones((3, 2)) / 2)


def test_with_groups_the_bootstrap_resamples_whole_groups():
    rng = np.random.default_rng(3)
    n = 40
    action = rng.integers(0, 2, n)
    reward = rng.random(n)
    pscore = np.full(n, 0.5)
    target = deterministic_policy(np.zeros(n, dtype=int), 2)
    alone = LoggedFeedback(action, reward, pscore, 2)
    # every decision logged ten times over, in one group per decision: no more evidence than the 40
    copies = dict(action=np.repeat(action, 10), reward=np.repeat(reward, 10), pscore=np.repeat(pscore, 10),
                  n_actions=2)
    grouped = LoggedFeedback(**copies, groups=np.repeat(np.arange(n), 10))
    flat = LoggedFeedback(**copies)
    for estimator in (IPS(), SNIPS()):
        assert estimator.estimate(grouped, np.repeat(target, 10, axis=0)) == pytest.approx(
            estimator.estimate(alone, target))
        assert estimator.interval(grouped, np.repeat(target, 10, axis=0), n_bootstrap=200) == pytest.approx(
            estimator.interval(alone, target, n_bootstrap=200))
        low, high = estimator.interval(flat, np.repeat(target, 10, axis=0), n_bootstrap=200)
        g_low, g_high = estimator.interval(grouped, np.repeat(target, 10, axis=0), n_bootstrap=200)
        assert high - low < 0.5 * (g_high - g_low)  # counted as 400 independent decisions: far too sure
    # one group per decision is the plain bootstrap
    single = LoggedFeedback(action, reward, pscore, 2, groups=np.arange(n) * 7)
    assert IPS().interval(single, target, n_bootstrap=100) == IPS().interval(alone, target, n_bootstrap=100)


def test_groups_must_name_one_group_per_decision():
    with pytest.raises(ValueError, match=r"groups must hold one group per decision \(4\)"):
        _hand(groups=np.array([0, 0, 1]))

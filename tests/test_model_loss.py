"""The Phase-1 loss: NOTEARS acyclicity penalty and the loss components."""

import pytest
import torch

from orchestai_core.model.loss import acyclicity, imitation_weights, planner_loss, pooled_terms, term_sizes


def test_acyclicity_is_zero_on_a_dag_and_positive_on_a_cycle():
    dag = torch.tensor([[[0, 1, 1], [0, 0, 1], [0, 0, 0]]], dtype=torch.float)
    cycle = torch.tensor([[[0, 1, 0], [0, 0, 1], [1, 0, 0]]], dtype=torch.float)
    valid = torch.ones(1, 3, dtype=torch.bool)
    assert acyclicity(dag, valid).item() == pytest.approx(0.0, abs=1e-6)
    assert acyclicity(cycle, valid).item() > 0.1


def test_acyclicity_grows_with_the_weight_of_a_cycle_and_ignores_padding():
    weak, strong = torch.zeros(1, 2, 2), torch.zeros(1, 2, 2)
    weak[0, 0, 1] = weak[0, 1, 0] = 0.3
    strong[0, 0, 1] = strong[0, 1, 0] = 0.9
    valid = torch.ones(1, 2, dtype=torch.bool)
    assert 0 < acyclicity(weak, valid).item() < acyclicity(strong, valid).item()
    padded = torch.zeros(1, 4, 4)
    padded[0, 0, 1] = padded[0, 1, 0] = 1.0  # a 2-cycle through node 1, which is padding
    assert acyclicity(padded, torch.tensor([[True, False, True, True]])).item() == pytest.approx(0.0, abs=1e-6)


def _inputs(with_workers: bool, nodes: int = 3):
    torch.manual_seed(0)
    b, v, w = 2, 6, 4
    type_logits = torch.randn(b, nodes + 1, v, requires_grad=True)
    type_targets = torch.randint(0, v, (b, nodes + 1))
    worker_logits = torch.randn(b, nodes, w, requires_grad=True)
    worker_targets = torch.randint(0, w, (b, nodes)) if with_workers else torch.full((b, nodes), -100)
    edge_logits = torch.randn(b, nodes, nodes, requires_grad=True)
    edge_targets = torch.zeros(b, nodes, nodes)
    valid = torch.ones(b, nodes, dtype=torch.bool)
    return type_logits, type_targets, worker_logits, worker_targets, edge_logits, edge_targets, valid


def test_total_is_ce_plus_edges_plus_lambda_times_dag():
    out = planner_loss(*_inputs(True), lambda_dag=0.3)
    expected = out["types"] + out["workers"] + out["edges"] + 0.3 * out["dag"]
    assert out["loss"].item() == pytest.approx(expected.item())
    assert out["workers"].item() > 0 and out["dag"].item() > 0


def test_logs_without_workers_skip_the_worker_term_but_keep_gradients_defined():
    inputs = _inputs(False)
    out = planner_loss(*inputs, lambda_dag=0.3)
    assert out["workers"].item() == 0.0
    out["loss"].backward()
    assert inputs[2].grad is not None and torch.count_nonzero(inputs[2].grad) == 0


def test_one_node_workflows_have_a_zero_edge_loss():
    out = planner_loss(*_inputs(True, nodes=1), lambda_dag=0.3)
    assert out["edges"].item() == 0.0 and torch.isfinite(out["loss"])


def test_label_smoothing_raises_the_loss_of_confident_correct_predictions():
    inputs = list(_inputs(True))
    inputs[2] = torch.nn.functional.one_hot(inputs[3], 4).float() * 20  # certain of the right worker
    plain = planner_loss(*inputs, lambda_dag=0.3)
    smoothed = planner_loss(*inputs, lambda_dag=0.3, type_smoothing=0.1, worker_smoothing=0.1)
    assert plain["workers"].item() < 1e-6 < smoothed["workers"].item()
    assert smoothed["types"].item() != plain["types"].item()
    assert smoothed["edges"].item() == plain["edges"].item()


def test_scaled_acyclicity_is_smaller_on_large_cycles_and_still_zero_on_dags():
    n = 40
    ring = torch.zeros(1, n, n)
    ring[0, [0, 1, 2], [1, 2, 0]] = 1.0  # a 3-cycle among 40 nodes
    dense = torch.full((1, n, n), 0.9)  # every pair both ways
    chain = torch.triu(torch.ones(1, n, n), diagonal=1)
    valid = torch.ones(1, n, dtype=torch.bool)
    assert acyclicity(chain, valid, scaled=True).item() == pytest.approx(0.0, abs=1e-4)
    assert 0 < acyclicity(ring, valid, scaled=True).item() <= acyclicity(ring, valid).item()
    assert 0 < acyclicity(dense, valid, scaled=True).item() < acyclicity(dense, valid).item()


def test_the_count_term_is_reported_and_weighted_into_the_total_only_when_asked():
    inputs = _inputs(True)
    totals = torch.tensor([[0.0, 3.0, 1.0, 1.0], [0.0, 2.0, 2.0, 5.0]], requires_grad=True)
    targets = torch.tensor([[-100.0, 1.0, 1.0, 1.0], [-100.0, 2.0, 2.0, 2.0]])
    plain = planner_loss(*inputs, lambda_dag=0.3)
    unweighted = planner_loss(*inputs, lambda_dag=0.3, totals=totals, count_targets=targets)
    weighted = planner_loss(*inputs, lambda_dag=0.3, totals=totals, count_targets=targets, lambda_count=0.5)
    assert "counts" not in plain and unweighted["counts"].item() > 0
    assert unweighted["loss"].item() == pytest.approx(plain["loss"].item())  # validation: L_CE + λ·L_DAG only
    assert weighted["loss"].item() == pytest.approx(plain["loss"].item() + 0.5 * unweighted["counts"].item())
    weighted["loss"].backward()
    assert totals.grad[0, 0] == 0 and totals.grad[0, 1] != 0


def test_acyclicity_is_bounded_by_n_times_e_minus_1_for_any_adjacency():
    """A dense adjacency of 64 nodes, every entry 1, is as cyclic as the model can produce: plain NOTEARS
    gives about e^63; the bounded term stays at most n·(e − 1) and keeps finite gradients."""
    n = 64
    dense = torch.ones(2, n, n, requires_grad=True)
    valid = torch.ones(2, n, dtype=torch.bool)
    value = acyclicity(dense, valid)
    assert torch.isfinite(value).all()
    assert (value <= n * (torch.e - 1) + 1e-3).all() and (value > 0.5).all()
    value.sum().backward()
    assert torch.isfinite(dense.grad).all()
    half = torch.full((1, 40, 40), 0.5)  # what an untrained edge scorer gives
    assert acyclicity(half, torch.ones(1, 40, dtype=torch.bool)).item() <= 40 * (torch.e - 1) + 1e-3


def test_acyclicity_is_plain_notears_where_no_row_sum_exceeds_one():
    cycle = torch.zeros(1, 3, 3)
    cycle[0, 0, 1] = cycle[0, 1, 2] = cycle[0, 2, 0] = 0.9  # row sums of A∘A are 0.81
    expected = torch.linalg.matrix_exp(cycle[0] * cycle[0]).diagonal().sum() - 3
    assert acyclicity(cycle, torch.ones(1, 3, dtype=torch.bool)).item() == pytest.approx(expected.item(), rel=1e-5)


def test_imitation_weighs_each_logged_worker_by_the_probability_it_was_chosen_with():
    nan = float("nan")
    targets = torch.tensor([[3, 1, 2, -100], [0, 2, 1, 3]])
    probs = torch.tensor([[0.91, 0.5, 0.01, nan], [nan, 0.4, 0.02, 1.0]])
    weights = imitation_weights(targets, probs)
    assert weights.flatten().tolist() == pytest.approx([0.91, 0.5, 0.01, 0.0, 1.0, 0.4, 0.02, 1.0])
    inputs = list(_inputs(True, nodes=4))
    inputs[3] = targets
    out = planner_loss(*inputs, lambda_dag=0.3, worker_weights=weights)
    each = torch.nn.functional.cross_entropy(inputs[2].detach().flatten(0, 1), targets.flatten(), ignore_index=-100,
                                             reduction="none")
    assert out["workers"].item() == pytest.approx(((each * weights.flatten()).sum() / weights.sum()).item())
    assert out["workers"].item() != pytest.approx(planner_loss(*inputs, lambda_dag=0.3)["workers"].item())
    explored = targets.clone()
    explored[0, 2] = explored[1, 2] = 0  # other workers where the policy was exploring (1 % and 2 %)
    own = targets.clone()
    own[0, 0] = own[1, 0] = 0  # other workers where it chose its own (91 % and unrecorded)
    moved = planner_loss(*inputs[:3], explored, *inputs[4:], lambda_dag=0.3, worker_weights=weights)["workers"]
    changed = planner_loss(*inputs[:3], own, *inputs[4:], lambda_dag=0.3, worker_weights=weights)["workers"]
    assert abs(moved.item() - out["workers"].item()) < 0.1 * abs(changed.item() - out["workers"].item())
    nothing = planner_loss(*inputs, lambda_dag=0.3, worker_weights=torch.zeros(2, 4))
    assert nothing["workers"].item() == 0.0
    nothing["loss"].backward()
    assert inputs[2].grad is not None and torch.count_nonzero(inputs[2].grad) == 0


def test_the_terms_of_batches_pool_into_the_loss_of_one_batch_of_them_all():
    # three logs of 1, 4 and 2 steps, with weighted workers and count targets: cut into batches of unequal
    # sizes and lengths, each batch's mean weighs by what it averaged over, as one batch of all three does
    torch.manual_seed(3)
    lengths, v, w, n = [1, 4, 2], 5, 3, 4
    valid = torch.arange(n).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    beyond = torch.arange(n + 1) > torch.tensor(lengths)[:, None]  # past each log's END
    type_targets = torch.randint(0, v, (3, n + 1)).masked_fill(beyond, -100)
    worker_targets = torch.randint(0, w, (3, n)).masked_fill(~valid, -100)
    weights = imitation_weights(worker_targets, torch.rand(3, n))
    edge_targets = (torch.rand(3, n, n) > 0.5).float()
    count_targets = type_targets.float().masked_fill(type_targets == -100, -100)
    outputs = torch.randn(3, n + 1, v), torch.randn(3, n, w), torch.randn(3, n, n), torch.rand(3, n + 1) * 3

    def batch(rows):
        steps = max(lengths[r] for r in rows)  # each batch padded to its own longest log
        loss = planner_loss(outputs[0][rows, :steps + 1], type_targets[rows, :steps + 1], outputs[1][rows, :steps],
                            worker_targets[rows, :steps], outputs[2][rows, :steps, :steps],
                            edge_targets[rows, :steps, :steps], valid[rows, :steps], 0.3,
                            totals=outputs[3][rows, :steps + 1], count_targets=count_targets[rows, :steps + 1],
                            worker_weights=weights[rows, :steps])
        return loss, term_sizes(type_targets[rows, :steps + 1], weights[rows, :steps], valid[rows, :steps],
                                count_targets[rows, :steps + 1])

    whole, _ = batch([0, 1, 2])
    sums, sizes = {}, {}
    for rows in ([1], [0, 2]):
        loss, sized = batch(rows)
        for k in sized:
            sums[k] = sums.get(k, 0.0) + loss[k].item() * sized[k]
            sizes[k] = sizes.get(k, 0.0) + sized[k]
    pooled = pooled_terms(sums, sizes, 0.3)
    assert {k: pooled[k] for k in whole} == pytest.approx({k: v.item() for k, v in whole.items()}, rel=1e-5)
    naive = (batch([1])[0]["types"].item() + 2 * batch([0, 2])[0]["types"].item()) / 3  # a mean per log is not it
    assert naive != pytest.approx(whole["types"].item(), rel=1e-3)


def test_a_term_no_batch_had_pools_to_zero():
    pooled = pooled_terms({"types": 1.2, "workers": 0.0, "edges": 0.0, "dag": 0.4},
                          {"types": 3.0, "workers": 0.0, "edges": 0.0, "dag": 2.0}, 0.5)
    assert pooled == pytest.approx({"types": 0.4, "workers": 0.0, "edges": 0.0, "dag": 0.2, "loss": 0.5})

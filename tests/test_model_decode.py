"""Decoding model outputs into plans: always a DAG, raw acyclicity reported, cost weight honoured."""

import itertools

import pytest
import torch

from orchestai_core.dag import find_cycle
from orchestai_core.model.decode import decode
from orchestai_core.model.planner import PlannerConfig, PlannerModel
from orchestai_core.model.vocab import TYPE_SPECIALS, Vocab

TYPES = Vocab([*TYPE_SPECIALS, *[f"t{i}" for i in range(8)]])
WORKERS = Vocab(["cheap", "dear", "mid"])


class NoEncoder(torch.nn.Module):
    """Stands in for the encoder where the decoder is the point: token states are given directly."""

    hidden_size = 24
    top = torch.nn.ModuleList()

    def tuned_states(self, states, mask):
        return states


@pytest.mark.parametrize("beam", [1, 3])
def test_decoding_random_weights_always_gives_dags_of_known_types(beam):
    torch.manual_seed(0)
    config = PlannerConfig(hidden=32, type_embedding=16, gnn_rounds=2, gnn_heads=2, max_nodes=12, dropout=0.0,
                           beam=beam)
    model = PlannerModel(config, TYPES, WORKERS, NoEncoder()).eval()
    mask = torch.ones(16, 7, dtype=torch.bool)
    mask[3:, 5:] = False
    numbers = torch.zeros(16, 7, 2)
    numbers[:, 2, 0] = torch.arange(16).float()  # some rows write a number, some a long enumeration
    numbers[::2, 3:5, 1] = 9.0
    plans = decode(model.generate(torch.randn(16, 7, 24), mask, numbers), TYPES, WORKERS)
    assert len(plans) == 16
    for plan in plans:
        assert 1 <= len(plan.graph.types) <= 12
        assert find_cycle(plan.graph.parents) is None
        assert all(p < j for j, ps in enumerate(plan.graph.parents) for p in ps)
        assert set(plan.graph.types) <= set(TYPES.items) - set(TYPE_SPECIALS)
        assert all(abs(sum(probs.values()) - 1) < 0.01 for probs in plan.worker_probs)  # top 3 of 3 workers


def _outputs(edge_logits):
    n = edge_logits.shape[-1]
    return {"types": torch.full((1, n), TYPES["t0"]), "lengths": torch.tensor([n]), "edges": edge_logits,
            "workers": torch.tensor([[[0.0, 2.0, 1.0]] * n])}


def test_a_cyclic_raw_adjacency_is_reported_and_only_forward_edges_are_kept():
    edges = torch.full((1, 3, 3), -5.0)
    edges[0, 0, 1] = edges[0, 1, 2] = edges[0, 2, 0] = 5.0  # 0 → 1 → 2 → 0
    plan = decode(_outputs(edges), TYPES, WORKERS)[0]
    assert not plan.raw_acyclic
    assert plan.graph.parents == [[], [0], [1]]
    forward_only = torch.full((1, 3, 3), -5.0)
    forward_only[0, 0, 2] = 5.0
    plan = decode(_outputs(forward_only), TYPES, WORKERS)[0]
    assert plan.raw_acyclic and plan.graph.parents == [[], [], [0]]


def test_a_cost_weight_moves_the_choice_to_cheaper_workers():
    edges = torch.full((1, 2, 2), -5.0)
    relative_cost = torch.tensor([[0.1, 1.0, 0.5]]).expand(len(TYPES), 3)
    by_quality = decode(_outputs(edges), TYPES, WORKERS, relative_cost, cost_weight=0.0)[0]
    by_price = decode(_outputs(edges), TYPES, WORKERS, relative_cost, cost_weight=10.0)[0]
    assert by_quality.graph.workers == ["dear", "dear"]
    assert by_price.graph.workers == ["cheap", "cheap"]
    assert max(by_quality.worker_probs[0], key=by_quality.worker_probs[0].get) == "dear"


def test_greedy_decoding_and_the_teacher_forced_pass_agree_step_by_step():
    """The step-by-step decoder (planning) and the whole-sequence pass (training) are one model: fed the
    greedy plan, the teacher-forced logits pick the same type at every step, and the same node states."""
    from orchestai_core.model.decomposer import TaskDecomposer

    torch.manual_seed(0)
    decomposer = TaskDecomposer(len(TYPES), 16, 8, 12, 0.0, count_heads=2).eval()
    tokens, mask = torch.randn(4, 9, 16), torch.ones(4, 9, dtype=torch.bool)
    mask[1, 6:] = False
    numbers = torch.zeros(4, 9, 2)
    numbers[0, 3, 0] = 5.0
    request = decomposer.read(tokens, mask, numbers)
    never = [TYPES["<pad>"], TYPES["<bos>"], TYPES["<unk>"]]
    types, nodes, lengths = decomposer.generate(request, TYPES["<bos>"], TYPES["<eos>"], never, 12)
    for b in range(4):
        n = int(lengths[b])
        emitted = [*types[b, :n].tolist(), TYPES["<eos>"]]
        prev = torch.tensor([[TYPES["<bos>"], *emitted[:-1]]])
        row = decomposer.read(tokens[b:b + 1], mask[b:b + 1], numbers[b:b + 1])
        with torch.no_grad():
            logits, forced_nodes, _ = decomposer(row, prev, torch.tensor([emitted]))
        logits[0, :, never] = float("-inf")
        logits[0, 0, TYPES["<eos>"]] = float("-inf")  # a plan has at least one step
        picked = logits[0].argmax(-1).tolist()
        assert picked[:n] == emitted[:n]
        assert n == 12 or picked[n] == TYPES["<eos>"]  # at 12 steps the plan is cut
        assert torch.allclose(forced_nodes[0, :n], nodes[b, :n], atol=1e-5)


def test_padding_tokens_draw_no_attention():
    from orchestai_core.model.decomposer import TaskDecomposer

    torch.manual_seed(1)
    decomposer = TaskDecomposer(len(TYPES), 16, 8, 12, 0.0, count_heads=2).eval()
    tokens, mask = torch.randn(1, 6, 16), torch.tensor([[True] * 4 + [False] * 2])
    prev, emitted = torch.tensor([[TYPES["<bos>"], TYPES["t1"]]]), torch.tensor([[TYPES["t1"], TYPES["<eos>"]]])
    with torch.no_grad():
        before = decomposer(decomposer.read(tokens, mask, torch.zeros(1, 6, 2)), prev, emitted)[0]
        tokens[0, 4:] = 1e3
        after = decomposer(decomposer.read(tokens, mask, torch.zeros(1, 6, 2)), prev, emitted)[0]
    assert torch.allclose(before, after, atol=1e-5)


def _forced_log_prob(decomposer, request, row: int, types: list[int], never: list[int]) -> tuple[float, torch.Tensor]:
    """Summed log-probability of emitting `types` then END, under the rules decoding plays by (no
    `never` types, no END first), and the node states of the teacher-forced pass."""
    eos, bos = TYPES["<eos>"], TYPES["<bos>"]
    emitted = [*types, eos]
    with torch.no_grad():
        logits, nodes, _ = decomposer(request.rows(torch.tensor([row])), torch.tensor([[bos, *types]]),
                                      torch.tensor([emitted]))
    logits[0, :, never] = float("-inf")
    logits[0, 0, eos] = float("-inf")
    log_probs = logits[0].log_softmax(-1)
    return float(sum(log_probs[i, t] for i, t in enumerate(emitted))), nodes[0, :len(types)]


def test_a_beam_as_wide_as_every_partial_plan_finds_the_most_probable_plan():
    """With three types and plans of at most three steps there are 27 partial plans at most: a beam of
    27 keeps them all, so it must return the plan a search through all 39 plans finds."""
    from orchestai_core.model.decomposer import TaskDecomposer

    types = Vocab([*TYPE_SPECIALS, "a", "b", "c"])
    torch.manual_seed(5)
    decomposer = TaskDecomposer(len(types), 16, 8, 3, 0.0, count_heads=2).eval()
    with torch.no_grad():
        decomposer.out[-1].weight.mul_(7.5)  # confident steps: the best plans here have 1, 2 and 3 steps
    tokens, mask = torch.randn(6, 7, 16) * 3, torch.ones(6, 7, dtype=torch.bool)
    mask[2, 4:] = False
    numbers = torch.zeros(6, 7, 2)
    numbers[1, 2, 0] = 3.0
    request = decomposer.read(tokens, mask, numbers)
    never = [types["<pad>"], types["<bos>"], types["<unk>"]]
    found, nodes, lengths = decomposer.beam_search(request, types["<bos>"], types["<eos>"], never, 3, 27)
    real = [types[t] for t in "abc"]
    plans = [list(p) for n in (1, 2, 3) for p in itertools.product(real, repeat=n)]
    assert len(plans) == 39
    assert set(lengths.tolist()) == {1, 2, 3}
    greedy, _, greedy_lengths = decomposer.generate(request, types["<bos>"], types["<eos>"], never, 3)
    assert (greedy_lengths != lengths).any()  # greedy decoding misses some of them
    for row in range(6):
        scored = [(_forced_log_prob(decomposer, request, row, p, never)[0], p) for p in plans]
        best_score, best = max(scored)
        n = int(lengths[row])
        assert found[row, :n].tolist() == best, (row, scored)
        assert (found[row, n:] == 0).all()
        assert torch.allclose(nodes[row, :n], _forced_log_prob(decomposer, request, row, best, never)[1], atol=1e-5)


def test_a_beam_of_one_scores_at_least_as_well_as_greedy_decoding():
    """A beam of one follows the greedy path and keeps the best place to end along it."""
    from orchestai_core.model.decomposer import TaskDecomposer

    torch.manual_seed(5)
    decomposer = TaskDecomposer(len(TYPES), 16, 8, 10, 0.0, count_heads=2).eval()
    tokens, mask = torch.randn(8, 9, 16), torch.ones(8, 9, dtype=torch.bool)
    request = decomposer.read(tokens, mask, torch.zeros(8, 9, 2))
    never = [TYPES["<pad>"], TYPES["<bos>"], TYPES["<unk>"]]
    args = (request, TYPES["<bos>"], TYPES["<eos>"], never, 10)
    greedy, _, greedy_lengths = decomposer.generate(*args)
    beam1, _, beam1_lengths = decomposer.beam_search(*args, 1)

    def score(row, t, n):
        return _forced_log_prob(decomposer, request, row, t[row, :int(n[row])].tolist(), never)[0]

    for row in range(8):
        g = greedy[row, :int(greedy_lengths[row])].tolist()
        assert beam1[row, :int(beam1_lengths[row])].tolist() == g[:int(beam1_lengths[row])]  # a prefix of greedy's
        assert score(row, beam1, beam1_lengths) >= score(row, greedy, greedy_lengths) - 1e-5


def test_a_batch_searches_each_request_as_if_alone_and_lets_finished_ones_go():
    """Requests whose search has ended leave the batch (the rows stepped shrink as plans of 1 to 5 steps end),
    and what each request gets does not depend on the others: the batch's plans, lengths and node
    states are those of each request searched on its own."""
    from orchestai_core.model.decomposer import TaskDecomposer

    types = Vocab([*TYPE_SPECIALS, "a", "b", "c"])
    torch.manual_seed(5)
    decomposer = TaskDecomposer(len(types), 16, 8, 8, 0.0, count_heads=2).eval()
    with torch.no_grad():
        decomposer.out[-1].weight.mul_(7.5)  # confident steps: plans of 1, 2 and 5 steps
    tokens, mask = torch.randn(6, 7, 16) * 3, torch.ones(6, 7, dtype=torch.bool)
    mask[2, 4:] = False
    request = decomposer.read(tokens, mask, torch.zeros(6, 7, 2))
    args = (types["<bos>"], types["<eos>"], [types["<pad>"], types["<bos>"], types["<unk>"]], 8, 3)
    stepped = []
    step = decomposer._step

    def counting(request, state, prev, index):
        stepped.append(len(prev))
        return step(request, state, prev, index)

    decomposer._step = counting
    found, nodes, lengths = decomposer.beam_search(request, *args)
    assert set(lengths.tolist()) == {1, 2, 5}
    assert stepped[0] == 6 * 3 and stepped[-1] == 3  # at the end only the 5-step plan's request is searching
    assert stepped == sorted(stepped, reverse=True)
    for row in range(6):
        alone, alone_nodes, alone_length = decomposer.beam_search(request.rows(torch.tensor([row])), *args)
        n = int(lengths[row])
        assert int(alone_length[0]) == n
        assert found[row, :n].tolist() == alone[0, :n].tolist()
        assert torch.allclose(nodes[row, :n], alone_nodes[0, :n], atol=1e-5)


def test_decode_returns_the_beams_plans_keeping_greedy_ones_only_where_provably_the_most_probable():
    """Under a beam, `decode` plans each request greedily first and keeps that plan only where the bound
    proves it the most probable plan of all; the rest go to the beam. What it returns is the beam's, for
    every request: here greedy decoding differs from the beam on 14 of 24 requests (those are searched), and
    the greedy plans kept are the most probable of all plans (a beam of 3^5 keeps every partial plan)."""
    from orchestai_core.model.decomposer import GREEDY, SEARCHED, TaskDecomposer

    types = Vocab([*TYPE_SPECIALS, "a", "b", "c"])
    torch.manual_seed(7)
    decomposer = TaskDecomposer(len(types), 16, 8, 5, 0.0, count_heads=2).eval()
    with torch.no_grad():
        decomposer.out[-1].weight.mul_(15.0)  # confident steps: the beam's plans have 1 to 5 steps
    tokens, mask = torch.randn(24, 7, 16) * 3, torch.ones(24, 7, dtype=torch.bool)
    request = decomposer.read(tokens, mask, torch.zeros(24, 7, 2))
    args = (types["<bos>"], types["<eos>"], [types["<pad>"], types["<bos>"], types["<unk>"]], 5)
    beam, beam_nodes, beam_lengths = decomposer.beam_search(request, *args, 3)
    found, nodes, lengths, how = decomposer.decode(request, *args, 3)
    assert torch.equal(lengths, beam_lengths) and torch.equal(found, beam)
    assert torch.allclose(nodes, beam_nodes, atol=1e-5)
    assert set(lengths.tolist()) == {1, 2, 3, 4, 5}
    greedy, _, greedy_lengths = decomposer.generate(request, *args)
    best, _, best_lengths = decomposer.beam_search(request, *args, 3 ** 5)
    differ = 0
    for row in range(24):
        g = greedy[row, :int(greedy_lengths[row])].tolist()
        differ += g != beam[row, :int(beam_lengths[row])].tolist()
        if int(how[row]) == GREEDY:
            assert g == best[row, :int(best_lengths[row])].tolist()
        else:
            assert int(how[row]) == SEARCHED
    assert differ == 14 and int((how == SEARCHED).sum()) >= differ and int((how == GREEDY).sum()) == 3
    *alone, how = decomposer.decode(request, *args, 1)  # a beam of one is greedy decoding, and says so
    assert all(torch.equal(a, g) for a, g in zip(alone, decomposer.generate(request, *args)))
    assert how.tolist() == [GREEDY] * 24


def test_decode_searches_a_plan_greedy_decoding_cut_at_the_step_limit():
    """A greedy plan that reached `max_nodes` without choosing END was cut, not finished: it is searched."""
    from orchestai_core.model.decomposer import SEARCHED, TaskDecomposer

    torch.manual_seed(5)
    decomposer = TaskDecomposer(len(TYPES), 16, 8, 10, 0.0, count_heads=2).eval()
    with torch.no_grad():
        decomposer.out[-1].bias[TYPES["<eos>"]] = -30.0  # END is never the likeliest choice
    request = decomposer.read(torch.randn(5, 9, 16), torch.ones(5, 9, dtype=torch.bool), torch.zeros(5, 9, 2))
    args = (TYPES["<bos>"], TYPES["<eos>"], [TYPES["<pad>"], TYPES["<bos>"], TYPES["<unk>"]], 4)
    assert (decomposer.generate(request, *args)[2] == 4).all()  # every greedy plan is cut
    found, _, lengths, how = decomposer.decode(request, *args, 3)
    beam, _, beam_lengths = decomposer.beam_search(request, *args, 3)
    assert (how == SEARCHED).all()
    assert torch.equal(found, beam) and torch.equal(lengths, beam_lengths)

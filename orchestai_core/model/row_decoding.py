"""Greedy decoding of one request on the CPU, in NumPy: `TaskDecomposer._greedy` for a batch of one.

Planning one instruction decodes one row, a step at a time: about 20 steps of some 60 tiny operations each
(vectors of 128, matrices of 512 × 384 at most). Torch spends several microseconds dispatching each of them,
so its step costs about three times its arithmetic; NumPy runs the same arithmetic with a fraction of that
overhead. This module is the same step as `TaskDecomposer._step` (and the same choice and certificate as
`_greedy` with `certify`), written for one row:

- the first LSTM layer's input is [type, position, occurrence, what remains, pooled request]; the pooled
  request's share of its gates is the same at every step, so it is computed once;
- the location-aware attention's shifted previous weights are a correlation of the previous weights with the
  location weights (`location_features`);
- log-probabilities drop END at the first step after the softmax, as the beam scores them (`_log_probs`).

`TaskDecomposer._greedy` uses it for one float32 row in inference on the CPU, and the torch step for
everything else (batches, training, a GPU, bfloat16); `tests/test_model_row_decoding.py` holds the two to the
same plans. A change to `_step` must be made here too: that test fails until it is.
"""

from __future__ import annotations

import numpy as np
import torch


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function as ½ + ½·tanh(x/2): no overflow (and no warning) far from 0, where 1/(1 + e^−x) has."""
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _lstm(gates: np.ndarray, c: np.ndarray, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """(h, c) of an LSTM cell from its summed gates [input, forget, cell, output] (torch's order)."""
    s = _sigmoid(gates)
    c = s[hidden:2 * hidden] * c + s[:hidden] * np.tanh(gates[2 * hidden:3 * hidden])
    return s[3 * hidden:] * np.tanh(c), c


def greedy_row(decomposer, request, bos: int, eos: int, never: list[int], max_nodes: int, margin: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """What `TaskDecomposer._greedy(request, …, certify=True)` returns for a request of one row (float32, CPU):
    type ids (1×max_nodes), node states (1×max_nodes×2H), the length (1) and whether the plan provably is
    the most probable one (1 bool; `margin` as the decoder's `MARGIN`)."""
    d, f32 = decomposer, np.float32
    h1, c1, h2, c2 = (_array(x[0]).copy() for x in d._initial(request))
    totals = _array(d.all_totals(request)[0])
    keys, values, salience = _array(request.keys[0]), _array(request.values[0]), _array(request.salience[0])
    mask, pooled, counts = _array(request.mask[0]), _array(request.pooled[0]), _array(request.counts[0])
    type_emb, pos_emb, occ_emb = _array(d.type_emb.weight), _array(d.pos_emb.weight), _array(d.occ_emb.weight)
    most_occurrences = occ_emb.shape[0] - 1
    remaining_w, remaining_b = _array(d.remaining[0].weight), _array(d.remaining[0].bias)
    emb, hidden = type_emb.shape[1], h1.shape[0]
    read = 4 * emb  # the first layer's inputs before the pooled request
    w_ih1 = _array(d.lstm.weight_ih_l0)
    w_read, w_hh1 = w_ih1[:, :read], _array(d.lstm.weight_hh_l0)
    request_gates = w_ih1[:, read:] @ pooled + _array(d.lstm.bias_ih_l0) + _array(d.lstm.bias_hh_l0)
    w_ih2, w_hh2 = _array(d.lstm2.weight_ih_l0), _array(d.lstm2.weight_hh_l0)
    b2 = _array(d.lstm2.bias_ih_l0) + _array(d.lstm2.bias_hh_l0)
    query_w, query_b = _array(d.attention.query.weight), _array(d.attention.query.bias)
    location_w, location_b = _array(d.attention.location.weight), _array(d.attention.location.bias)
    width = location_w.shape[0] - 2  # the shifted previous weights; then coverage and what lies before
    half = width // 2
    out_w, out_b = _array(d.out[0].weight), _array(d.out[0].bias)
    logit_w, logit_b = _array(d.out[-1].weight), _array(d.out[-1].bias)

    banned = _array(d._banned(never, request.mask.device))
    tokens = keys.shape[0]
    padded = np.zeros(tokens + 2 * half, f32)  # the previous weights with `half` zeros each side
    previous, coverage = padded[half:half + tokens], np.zeros(tokens, f32)
    masked = None if mask.all() else ~mask
    seen = np.zeros(d.n_types, np.int64)
    first_in, second_in = np.empty(read, f32), np.empty(w_ih2.shape[1], f32)
    out_in, left = np.empty(out_w.shape[1], f32), np.empty(len(counts) + 1, f32)
    types, states = np.zeros(max_nodes, np.int64), np.zeros((max_nodes, 2 * hidden), f32)
    prev, score, bound, length, optimal = bos, 0.0, -np.inf, max_nodes, False
    for step in range(max_nodes + 1):
        seen[prev] += 1
        occurrence = int(seen[prev])
        left[:-1], left[-1] = counts - occurrence, totals[prev] - occurrence  # `_remaining`
        features = np.concatenate([np.clip(left, -4.0, 4.0), _sigmoid(4.0 * (left - 0.5))])
        remaining = np.tanh(remaining_w @ features + remaining_b)
        first_in[:emb], first_in[emb:2 * emb] = type_emb[prev], pos_emb[step]
        first_in[2 * emb:3 * emb], first_in[3 * emb:] = occ_emb[min(occurrence, most_occurrences)], remaining
        h1, c1 = _lstm(w_read @ first_in + w_hh1 @ h1 + request_gates, c1, hidden)

        content = keys @ (query_w @ h1 + query_b)  # `LocationAttention.prepare`, then `step`
        if masked is not None:
            content[masked] = np.finfo(f32).min
        location = location_w @ h1 + location_b
        scores = (content + np.correlate(padded, location[:width], "valid") + location[width] * coverage
                  + location[width + 1] * np.cumsum(previous))
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        coverage += weights
        previous[:] = weights
        uncovered = np.maximum(1.0 - coverage, 0.0) @ salience
        context = weights @ values

        second_in[:hidden], second_in[hidden:2 * hidden], second_in[2 * hidden:] = h1, context, uncovered
        h2, c2 = _lstm(w_ih2 @ second_in + w_hh2 @ h2 + b2, c2, hidden)
        out_in[:hidden], out_in[hidden:2 * hidden] = h2, context
        out_in[2 * hidden:2 * hidden + emb], out_in[2 * hidden + emb:] = remaining, uncovered
        logits = logit_w @ np.tanh(out_w @ out_in + out_b) + logit_b + banned

        top = logits.max()  # `_log_probs`: log-softmax, then no END at the first step
        log_probs = logits - (top + np.log(np.exp(logits - top).sum()))
        if step == 0:
            log_probs[eos] = -np.inf
        choice = int(log_probs.argmax())
        best = log_probs[choice]
        log_probs[choice] = -np.inf
        bound, score = max(bound, score + float(log_probs.max())), score + float(best)
        if choice == eos or step == max_nodes:
            length, optimal = step, bool(bound < score - margin and choice == eos)
            break
        types[step], states[step, :hidden], states[step, hidden:] = choice, h2, context
        prev = choice
    return (torch.from_numpy(types).unsqueeze(0), torch.from_numpy(states).unsqueeze(0),
            torch.tensor([length]), torch.tensor([optimal]))

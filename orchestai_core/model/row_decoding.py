"""Decoding one request on the CPU, in NumPy: `TaskDecomposer._greedy` (`greedy_row`) and `_beam` (`beam_row`)
for a batch of one.

Planning one instruction decodes one row, a step at a time: about 20 steps of some 60 tiny operations each
(vectors of 128, matrices of 512 × 384 at most). Torch spends several microseconds dispatching each of them,
so its step costs about three times its arithmetic; NumPy runs the same arithmetic with a fraction of that
overhead. This module is the same step as `TaskDecomposer._step` (and the same choice and certificate as
`_greedy` with `certify`), written for one row, with as few operations a step as the arithmetic allows:

- the decomposer's weights are arranged once per version of them (`row_weights`) and kept while they do not
  change: the first LSTM layer's input is [type, position, occurrence, what remains, pooled request], so the
  first three's shares of its gates are tables looked up by id, and the pooled request's share is the same at
  every step of a request;
- an LSTM's sigmoid gates are ½ + ½·tanh(x/2): their weight rows are halved once, so one tanh over all the
  gates gives every gate's nonlinearity (no overflow far from 0, where 1/(1 + e^−x) has);
- the attention's query and location weights are one matrix per request (the keys times the query weights,
  then the location weights): one product a step gives both;
- the location-aware attention's shifted previous weights are a correlation of the previous weights with the
  location weights (`location_features`); its coverage term reads 1 − coverage, which is also what the
  uncovered salience sums (a softmax does not see the constant between the two);
- log-probabilities drop END at the first step after the softmax, as the beam scores them (`_log_probs`);
  only the chosen type's and the best other's are worked out.

The beam's few hypotheses are the rows of its step's matrices; each of its matrix products is one
matrix-vector product a row (`_times`), which for three rows runs faster than one matrix product.

`TaskDecomposer._greedy` and `_beam` use them for one float32 row in inference on the CPU, and the torch step
for everything else (batches, training, a GPU, bfloat16); `tests/test_model_row_decoding.py` holds the two to
the same plans. A change to `_step` must be made here too: that test fails until it is.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import torch


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _gate_scale(hidden: int) -> np.ndarray:
    """4H: ½ on an LSTM's input, forget and output gate rows (sigmoids read as ½ + ½·tanh(x/2)), 1 on the cell's."""
    scale = np.full(4 * hidden, 0.5, np.float32)
    scale[2 * hidden:3 * hidden] = 1.0
    return scale


@dataclass(frozen=True)
class RowWeights:
    """The decomposer's weights as `greedy_row` reads them (float32 NumPy; LSTM gate rows scaled by
    `_gate_scale`)."""

    stamp: tuple                 # the weights' storage and version: a change to any of them arranges them again
    type_gates: np.ndarray       # V×4H: each type's embedding's share of the first layer's gates
    position_gates: np.ndarray   # (max_nodes + 1)×4H
    occurrence_gates: np.ndarray  # (MAX_OCCURRENCE + 1)×4H
    remaining_gates: np.ndarray  # 4H×E: what remains
    request_gates: np.ndarray    # 4H×H: the pooled request
    recurrent1: np.ndarray       # 4H×H
    bias1: np.ndarray            # 4H
    input2: np.ndarray           # 4H×(2H + K): the second layer's input [h1, context, uncovered]
    recurrent2: np.ndarray       # 4H×H
    bias2: np.ndarray            # 4H
    remaining_w: np.ndarray      # E×2C: over [clipped counts left, tanh(2·left − 1)] (the sigmoid's ½ folded in)
    remaining_b: np.ndarray      # E
    query_w: np.ndarray          # H×H
    query_b: np.ndarray          # H
    location_w: np.ndarray       # F×H
    location_b: np.ndarray       # F
    out_w: np.ndarray            # H×(2H + E + K)
    out_b: np.ndarray            # H
    logit_w: np.ndarray          # V×H
    logit_b: np.ndarray          # V
    init_w: np.ndarray           # 4H×H: the first states from the pooled request
    init_b: np.ndarray           # 4H
    mix_types: np.ndarray        # V×H: each type's embedding's share of `mix_by_request`'s hidden layer
    mix_request: np.ndarray      # H×H: the pooled request's share
    mix_b: np.ndarray            # H
    mix_out_w: np.ndarray        # C×H
    mix_out_b: np.ndarray        # V×C: `mix_by_request`'s output bias plus each type's own `mix` weights


_ARRANGED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _stamp(decomposer) -> tuple:
    return tuple((p.data_ptr(), p._version) for p in decomposer.parameters())


def row_weights(decomposer) -> RowWeights:
    """The decomposer's `RowWeights`, arranged again only when a weight has changed since (training steps and
    loading weights change them in place, which bumps their version; moving the module changes their storage)."""
    stamp = _stamp(decomposer)
    found = _ARRANGED.get(decomposer)
    if found is None or found.stamp != stamp:
        found = _ARRANGED[decomposer] = _arrange(decomposer, stamp)
    return found


@torch.inference_mode()
def _arrange(decomposer, stamp: tuple) -> RowWeights:
    d = decomposer
    emb, hidden = d.type_emb.weight.shape[1], d.dim
    scale = _gate_scale(hidden)[:, None]
    w_ih1 = _array(d.lstm.weight_ih_l0) * scale
    type_w, position_w, occurrence_w = (w_ih1[:, k * emb:(k + 1) * emb] for k in range(3))
    counts = d.remaining[0].weight.shape[1] // 2  # [clipped, sigmoid] halves
    remaining_w = _array(d.remaining[0].weight).copy()
    remaining_b = _array(d.remaining[0].bias) + 0.5 * remaining_w[:, counts:].sum(1)
    remaining_w[:, counts:] *= 0.5  # sigmoid(4·(x − ½)) = ½ + ½·tanh(2x − 1)
    mix_hidden = _array(d.mix_by_request[0].weight)
    contiguous = np.ascontiguousarray
    return RowWeights(
        stamp=stamp,
        type_gates=_array(d.type_emb.weight) @ type_w.T,
        position_gates=_array(d.pos_emb.weight) @ position_w.T,
        occurrence_gates=_array(d.occ_emb.weight) @ occurrence_w.T,
        remaining_gates=contiguous(w_ih1[:, 3 * emb:4 * emb]),
        request_gates=contiguous(w_ih1[:, 4 * emb:]),
        recurrent1=_array(d.lstm.weight_hh_l0) * scale,
        bias1=(_array(d.lstm.bias_ih_l0) + _array(d.lstm.bias_hh_l0)) * scale[:, 0],
        input2=_array(d.lstm2.weight_ih_l0) * scale,
        recurrent2=_array(d.lstm2.weight_hh_l0) * scale,
        bias2=(_array(d.lstm2.bias_ih_l0) + _array(d.lstm2.bias_hh_l0)) * scale[:, 0],
        remaining_w=remaining_w, remaining_b=remaining_b,
        query_w=_array(d.attention.query.weight).copy(), query_b=_array(d.attention.query.bias).copy(),
        location_w=_array(d.attention.location.weight).copy(), location_b=_array(d.attention.location.bias).copy(),
        out_w=_array(d.out[0].weight).copy(), out_b=_array(d.out[0].bias).copy(),
        logit_w=_array(d.out[-1].weight).copy(), logit_b=_array(d.out[-1].bias).copy(),
        init_w=_array(d.init_state.weight).copy(), init_b=_array(d.init_state.bias).copy(),
        mix_types=_array(d.type_emb.weight) @ mix_hidden[:, :emb].T,
        mix_request=contiguous(mix_hidden[:, emb:]), mix_b=_array(d.mix_by_request[0].bias).copy(),
        mix_out_w=_array(d.mix_by_request[-1].weight).copy(),
        mix_out_b=_array(d.mix.weight) + _array(d.mix_by_request[-1].bias),
    )


def _totals(w: RowWeights, pooled: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """V: `TaskDecomposer.all_totals` of one request."""
    hidden = torch.from_numpy(np.tanh(w.mix_types + (w.mix_request @ pooled + w.mix_b)))
    mixes = (hidden @ torch.from_numpy(w.mix_out_w).T).numpy() + w.mix_out_b
    return mixes @ np.append(counts, np.float32(1.0))


def _lstm(gates: np.ndarray, c: np.ndarray, hidden: int, h_out: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """(h, c) of an LSTM cell from its summed gates [input, forget, cell, output] (torch's order; the sigmoid
    gates' rows halved), for one row (4H gates, H cells) or several (R×4H, R×H); h written into `h_out` if given."""
    t = np.tanh(gates)
    s = t * 0.5
    s += 0.5  # the sigmoid gates (the cell's quarter unused)
    c = s[..., hidden:2 * hidden] * c
    c += s[..., :hidden] * t[..., 2 * hidden:3 * hidden]
    return np.multiply(s[..., 3 * hidden:], np.tanh(c), out=h_out), c


@dataclass
class _Request:
    """What the row steps read of one request, worked out once before its first step."""

    keys: np.ndarray           # T×H (the sentinel last)
    values: np.ndarray         # T×H
    salience: np.ndarray       # T×K
    masked: np.ndarray | None  # T bools: padding (None: none)
    counts: np.ndarray         # C−1: the count reader's counts
    totals: np.ndarray         # V: `TaskDecomposer.all_totals`
    first_state: np.ndarray    # 4H: h1, c1, h2, c2 (`TaskDecomposer._initial`)
    request_gates: np.ndarray  # 4H: the pooled request's share of the first layer's gates, with its bias
    attend: np.ndarray         # (T + F)×H: [keys · query weights; location weights]
    attend_b: np.ndarray       # T + F
    logit_b: np.ndarray        # V: the output bias, −inf on the types never emitted


def _request(w: RowWeights, request, never: list[int]) -> _Request:
    keys, values, salience = _array(request.keys[0]), _array(request.values[0]), _array(request.salience[0])
    mask, pooled, counts = _array(request.mask[0]), _array(request.pooled[0]), _array(request.counts[0])
    tokens = keys.shape[0]
    attend = np.empty((tokens + len(w.location_b), keys.shape[1]), np.float32)
    torch.mm(request.keys[0], torch.from_numpy(w.query_w), out=torch.from_numpy(attend[:tokens]))
    attend[tokens:] = w.location_w
    logit_b = w.logit_b.copy()
    logit_b[never] = -np.inf
    return _Request(keys, values, salience, None if mask.all() else ~mask, counts, _totals(w, pooled, counts),
                    np.tanh(w.init_w @ pooled + w.init_b), w.request_gates @ pooled + w.bias1, attend,
                    np.concatenate([keys @ w.query_b, w.location_b]), logit_b)


def greedy_row(decomposer, request, bos: int, eos: int, never: list[int], max_nodes: int, margin: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """What `TaskDecomposer._greedy(request, …, certify=True)` returns for a request of one row (float32, CPU):
    type ids (1×max_nodes), node states (1×max_nodes×2H), the length (1) and whether the plan provably is
    the most probable one (1 bool; `margin` as the decoder's `MARGIN`)."""
    w, f32 = row_weights(decomposer), np.float32
    r = _request(w, request, never)
    keys, values, salience, masked, totals = r.keys, r.values, r.salience, r.masked, r.totals
    request_gates, attend, attend_b, logit_b = r.request_gates, r.attend, r.attend_b, r.logit_b
    hidden, emb = w.query_w.shape[0], w.remaining_w.shape[0]
    tokens, n_counts, most_occurrences = keys.shape[0], len(r.counts) + 1, len(w.occurrence_gates) - 1
    h1, c1, h2, c2 = np.split(r.first_state, 4)
    width = len(w.location_b) - 2  # the shifted previous weights; then coverage and what lies before
    half = width // 2

    padded = np.zeros(tokens + 2 * half, f32)  # the previous weights with `half` zeros each side
    previous, uncovered_left = padded[half:half + tokens], np.ones(tokens, f32)  # 1 − coverage
    seen = np.zeros(len(w.logit_b), np.int64)
    left_counts = np.append(r.counts, f32(0.0))
    features = np.empty(2 * n_counts, f32)
    # The second layer's input [h1, context, uncovered]; the output layer's [h2, context, remaining, uncovered].
    second_in, out_in = np.empty(w.input2.shape[1], f32), np.empty(w.out_w.shape[1], f32)
    second_in[:hidden], out_in[:hidden] = h1, h2
    h1, h2 = second_in[:hidden], out_in[:hidden]  # each layer writes its new state there
    remaining = out_in[2 * hidden:2 * hidden + emb]
    types, states = np.zeros(max_nodes, np.int64), np.zeros((max_nodes, 2 * hidden), f32)
    prev, score, bound, length, optimal = bos, 0.0, -math.inf, max_nodes, False
    for step in range(max_nodes + 1):
        seen[prev] += 1
        occurrence = int(seen[prev])
        left = left_counts - occurrence  # `_remaining`
        left[-1] = totals[prev] - occurrence
        np.clip(left, -4.0, 4.0, out=features[:n_counts])
        np.multiply(left, 2.0, out=features[n_counts:])
        features[n_counts:] -= 1.0
        np.tanh(features[n_counts:], out=features[n_counts:])
        np.tanh(w.remaining_w @ features + w.remaining_b, out=remaining)
        gates = w.type_gates[prev] + w.position_gates[step]
        gates += w.occurrence_gates[min(occurrence, most_occurrences)]
        gates += request_gates
        gates += w.remaining_gates @ remaining
        gates += w.recurrent1 @ h1
        h1, c1 = _lstm(gates, c1, hidden, h1)

        scored = attend @ h1  # `LocationAttention.prepare`, then `step`
        scored += attend_b
        scores, location = scored[:tokens], scored[tokens:]
        if masked is not None:
            scores[masked] = np.finfo(f32).min
        scores += np.correlate(padded, location[:width], "valid")
        scores -= location[width] * uncovered_left
        scores += location[width + 1] * np.cumsum(previous)
        scores -= scores.max()
        np.exp(scores, out=scores)
        scores /= scores.sum()
        uncovered_left -= scores
        previous[:] = scores
        context = second_in[hidden:2 * hidden]
        np.dot(scores, values, out=context)
        uncovered = second_in[2 * hidden:]
        np.dot(np.maximum(uncovered_left, 0.0), salience, out=uncovered)

        gates = w.input2 @ second_in
        gates += w.recurrent2 @ h2
        gates += w.bias2
        h2, c2 = _lstm(gates, c2, hidden, h2)
        out_in[hidden:2 * hidden], out_in[2 * hidden + emb:] = context, uncovered
        logits = w.logit_w @ np.tanh(w.out_w @ out_in + w.out_b)
        logits += logit_b

        top = float(logits.max())  # `_log_probs`: log-softmax, then no END at the first step
        normaliser = top + math.log(float(np.exp(logits - top).sum()))
        if step == 0:
            logits[eos] = -np.inf
        choice = int(logits.argmax())
        best = float(logits[choice]) - normaliser
        logits[choice] = -np.inf
        bound, score = max(bound, score + float(logits.max()) - normaliser), score + best
        if choice == eos or step == max_nodes:
            length, optimal = step, bool(bound < score - margin and choice == eos)
            break
        types[step], states[step] = choice, out_in[:2 * hidden]
        prev = choice
    return (torch.from_numpy(types).unsqueeze(0), torch.from_numpy(states).unsqueeze(0),
            torch.tensor([length]), torch.tensor([optimal]))


def beam_row(decomposer, request, bos: int, eos: int, never: list[int], max_nodes: int, width: int
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What `TaskDecomposer._beam(request, …, width)` returns for a request of one row (float32, CPU): type ids
    (1×S), node states (1×S×2H) and the length (1). The same search, its `width` hypotheses as the rows of
    each step's matrices: a hypothesis ends when END is its best continuation's rival no more, and the search
    stops once no partial plan can beat the best finished one (scores only fall as a plan grows)."""
    w, f32 = row_weights(decomposer), np.float32
    r = _request(w, request, never)
    k, n_types = width, len(w.logit_b)
    hidden, tokens, most_occurrences = w.query_w.shape[0], r.keys.shape[0], len(w.occurrence_gates) - 1
    span = len(w.location_b) - 2  # the shifted previous weights; then coverage and what lies before
    half = span // 2
    rows = np.arange(k)
    h1, c1, h2, c2 = (np.repeat(x[None], k, 0) for x in np.split(r.first_state, 4))
    padded = np.zeros((k, tokens + 2 * half), f32)  # each row's previous weights with `half` zeros each side
    uncovered_left = np.ones((k, tokens), f32)  # 1 − coverage
    seen = np.zeros((k, n_types), np.int64)
    left_counts = np.append(r.counts, f32(0.0))
    prev = np.full(k, bos)
    scores = np.full(k, -np.inf)
    scores[0] = 0.0  # one hypothesis to start from, not k copies of it
    best, best_row, length = -math.inf, 0, 0
    steps = []  # per emitted step: each new row's type, the row it extends and that row's node state
    for step in range(max_nodes + 1):
        seen[rows, prev] += 1
        occurrence = seen[rows, prev]
        left = left_counts[None, :] - occurrence[:, None].astype(f32)  # `_remaining`
        left[:, -1] = r.totals[prev] - occurrence
        features = np.concatenate([np.clip(left, -4.0, 4.0), np.tanh(2.0 * left - 1.0)], 1)
        remaining = np.tanh(features @ w.remaining_w.T + w.remaining_b)
        gates = w.type_gates[prev] + w.position_gates[step] + w.occurrence_gates[np.minimum(occurrence,
                                                                                            most_occurrences)]
        gates += r.request_gates
        gates += _times(w.remaining_gates, remaining)
        gates += _times(w.recurrent1, h1)
        h1, c1 = _lstm(gates, c1, hidden)

        scored = h1 @ r.attend.T + r.attend_b  # `LocationAttention.prepare`, then `step`
        attention, location = scored[:, :tokens], scored[:, tokens:]
        if r.masked is not None:
            attention[:, r.masked] = np.finfo(f32).min
        for j in range(span):  # the shifted previous weights, one shift at a time
            attention += location[:, j:j + 1] * padded[:, j:j + tokens]
        previous = padded[:, half:half + tokens]
        attention -= location[:, span:span + 1] * uncovered_left
        attention += location[:, span + 1:span + 2] * np.cumsum(previous, 1)
        attention -= attention.max(1, keepdims=True)
        np.exp(attention, out=attention)
        attention /= attention.sum(1, keepdims=True)
        uncovered_left -= attention
        previous[:] = attention
        context = attention @ r.values
        uncovered = np.maximum(uncovered_left, 0.0) @ r.salience

        gates = _times(w.input2, np.concatenate([h1, context, uncovered], 1))
        gates += _times(w.recurrent2, h2)
        gates += w.bias2
        h2, c2 = _lstm(gates, c2, hidden)
        out = np.tanh(_times(w.out_w, np.concatenate([h2, context, remaining, uncovered], 1)) + w.out_b)
        logits = out @ w.logit_w.T + r.logit_b
        top = logits.max(1, keepdims=True)  # `_log_probs`: log-softmax, then no END at the first step
        log_probs = logits - (top + np.log(np.exp(logits - top).sum(1, keepdims=True)))
        if step == 0:
            log_probs[:, eos] = -np.inf

        total = scores[:, None] + log_probs  # k×V
        which = int(total[:, eos].argmax())
        if total[which, eos] > best:
            best, best_row, length = float(total[which, eos]), which, step
        if step == max_nodes:
            break
        total[:, eos] = -np.inf
        flat = total.ravel()
        index = np.argsort(-flat, kind="stable")[:k]
        scores = flat[index]
        if not scores[0] > best:  # no partial plan can still win
            break
        source, choice = index // n_types, index % n_types
        steps.append((choice, source, np.concatenate([h2, context], 1)[source]))
        h1, c1, h2, c2 = h1[source], c1[source], h2[source], c2[source]
        padded, uncovered_left, seen, prev = padded[source], uncovered_left[source], seen[source], choice
    # Follow the winner back from the row it ended on.
    types, states = np.zeros(max(1, length), np.int64), np.zeros((max(1, length), 2 * hidden), f32)
    row = best_row
    for step in reversed(range(length)):
        choice, source, node = steps[step]
        types[step], states[step], row = choice[row], node[row], source[row]
    return torch.from_numpy(types).unsqueeze(0), torch.from_numpy(states).unsqueeze(0), torch.tensor([length])


def _times(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """R×M: `matrix` (M×N) times each of `rows` (R×N), one matrix-vector product a row: for the beam's few rows
    these run faster than one matrix product."""
    out = np.empty((len(rows), matrix.shape[0]), np.float32)
    for i, row in enumerate(rows):
        np.dot(matrix, row, out=out[i])
    return out


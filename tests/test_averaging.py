"""The running average of the trained weights that validation and checkpoints use."""

import pytest
import torch

from orchestai_core.averaging import WeightAverage


def _model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    model[1].weight.requires_grad_(False)  # frozen weights are not averaged
    return model


def test_the_average_follows_the_weights_and_lags_behind_them():
    model = _model()
    average = WeightAverage(model, decay=0.9)
    start = model[0].weight.detach().clone()
    for _ in range(50):
        with torch.no_grad():
            model[0].weight.add_(1.0)
        average.update()
    with average.applied():
        averaged = model[0].weight.detach().clone()
    assert torch.all(averaged > start + 40) and torch.all(averaged < model[0].weight)  # close behind
    assert torch.allclose(model[0].weight, start + 50)  # the raw weights are back after the block


def test_the_raw_weights_come_back_even_when_the_block_fails():
    model = _model()
    average = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model[0].bias.fill_(3.0)
    with pytest.raises(RuntimeError), average.applied():
        raise RuntimeError("validation failed")
    assert torch.all(model[0].bias == 3.0)


def test_a_saved_average_restores_into_a_fresh_one():
    model = _model()
    average = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.mul_(2.0)
    average.update()
    fresh = WeightAverage(_model(), decay=0.9)
    fresh.load_state_dict(average.state_dict())
    assert fresh.updates == 1 and all(torch.equal(a, b) for a, b in zip(fresh.shadow, average.shadow))
    assert len(average.shadow) == 3  # the frozen weight is not among them


def test_a_decay_outside_zero_and_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(_model(), decay=1.0)

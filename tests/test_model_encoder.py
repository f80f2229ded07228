"""The instruction encoder, on the real packaged all-MiniLM-L6-v2 weights."""

from pathlib import Path

import pytest
import torch

from orchestai_core.model.encoder import DEFAULT_ENCODER, InstructionEncoder, resolve_encoder_path


@pytest.fixture(scope="module")
def minilm():
    return InstructionEncoder.from_pretrained(DEFAULT_ENCODER, finetune_layers=2, max_length=32).eval()


def test_the_default_name_resolves_to_the_packaged_weights():
    path = Path(resolve_encoder_path(DEFAULT_ENCODER))
    assert (path / "config.json").exists() and (path / "tokenizer.json").exists()
    assert resolve_encoder_path("/some/local/bert") == "/some/local/bert"


def test_frozen_then_tuned_layers_equal_the_whole_encoder(minilm):
    batch = minilm.tokenize(["Summarize the attached report and translate it into French.", "Fix the bug"])
    whole = minilm.model(**batch).last_hidden_state
    split = minilm.tuned_states(minilm.frozen_states(**batch), batch["attention_mask"])
    mask = batch["attention_mask"].bool()
    assert minilm.hidden_size == 384
    assert torch.allclose(whole[mask], split[mask], atol=1e-5)


def test_only_the_top_layers_train_and_only_they_are_saved(minilm):
    trainable = {n for n, p in minilm.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("model.encoder.layer.4.", "model.encoder.layer.5.")) for n in trainable)
    saved = minilm.trainable_state()
    assert saved and all(k.startswith("top.") for k in saved)
    assert len(saved) == len(minilm.top.state_dict())


def test_long_instructions_are_truncated_and_unknown_words_still_encode(minilm):
    batch = minilm.tokenize(["word " * 500, "Zxqvbnm flurbleglorp qwertyuiopasdf"])
    assert batch["input_ids"].shape[1] == 32
    assert torch.isfinite(minilm(**batch)).all()


def test_only_instructions_longer_than_max_length_are_reported_truncated(minilm):
    texts = ["word " * 500, "word " * 30, "word " * 31, "Fix it"]  # 502, 32 and 33 tokens with [CLS] and [SEP]
    assert minilm.token_counts(texts) == [502, 32, 33, 4]
    assert minilm.truncated(texts, minilm.tokenize(texts)["attention_mask"]) == [True, False, True, False]
    assert minilm.truncated(["Fix it"], minilm.tokenize(["Fix it"])["attention_mask"]) == [False]


def test_tokens_are_grouped_into_the_words_between_spaces(minilm):
    batch, tokens, words = minilm.tokenize_words(["OCR shelf_photo.jpg, a.png and b.png", "Fix it"])
    assert batch["input_ids"].shape == (2, len(tokens[0])) and len(words[1]) == len(tokens[1])
    first = dict(zip(tokens[0], words[0]))
    assert first["[CLS]"] == -1 and first["[SEP]"] == -1
    pieces = [t for t, w in zip(tokens[0], words[0]) if w == 1]
    assert "".join(p.removeprefix("##") for p in pieces) == "shelf_photo.jpg,"
    assert words[1][-1] == -1  # padding


def test_keeping_the_bottom_layers_gives_the_full_encoders_middle_states(minilm):
    cut = InstructionEncoder.from_pretrained(DEFAULT_ENCODER, layers=2).eval()
    batch = cut.tokenize(["Translate the summary into French and German."])
    with torch.no_grad():
        middle = minilm.model(**batch, output_hidden_states=True).hidden_states[2]
        assert torch.allclose(cut(**batch), middle, atol=1e-5)
    assert len(cut.model.encoder.layer) == 2
    with pytest.raises(ValueError, match="encoder has 6 layers"):
        InstructionEncoder.from_pretrained(DEFAULT_ENCODER, layers=7)


def test_a_frozen_encoder_has_nothing_to_train():
    encoder = InstructionEncoder.from_pretrained(DEFAULT_ENCODER, finetune_layers=0)
    assert not any(p.requires_grad for p in encoder.parameters()) and encoder.trainable_state() == {}


def test_impossible_settings_are_refused(minilm):
    with pytest.raises(ValueError, match="encoder has 6 layers"):
        InstructionEncoder(minilm.model, minilm.tokenizer, finetune_layers=7)
    with pytest.raises(ValueError, match="0 or more"):
        InstructionEncoder(minilm.model, minilm.tokenizer, finetune_layers=-1)
    with pytest.raises(FileNotFoundError, match="cannot load it offline"):
        InstructionEncoder.from_pretrained("/nonexistent/encoder-dir")

"""Consensus decoding in a trained planner: fitted at the end of training, kept in the checkpoint, and plans
that follow a training request's plan with workers chosen for the new instruction."""

from dataclasses import replace

import pytest
import torch
from planner_fixtures import cached_items

from orchestai_core.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from orchestai_core.dag import Graph, find_cycle
from orchestai_core.evaluate import aggregate, evaluate_planner, score
from orchestai_core.examples import Example
from orchestai_core.model.consensus import ConsensusSettings
from orchestai_core.model.ordering import describe as describe_order
from orchestai_core.model.presence import TypePresence
from orchestai_core.model.retrieval import PlanIndex
from orchestai_core.model.similarity import LearnedSimilarity
from orchestai_core.planner_api import Planner
from orchestai_core.training_data import example_from_log


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint):
    return load_checkpoint(tiny_checkpoint)


def test_training_fits_consensus_and_keeps_one_vector_per_plan_learnt_from(checkpoint):
    entry = checkpoint.consensus
    assert entry is not None
    validation = entry["validation_plans"]
    assert [p["id"] for p in validation] == checkpoint.val_ids  # the validation logs, after the training plans
    assert all(p["id"] not in checkpoint.val_ids for p in checkpoint.train_plans)
    n = len(checkpoint.train_plans) + len(validation)
    assert entry["vectors"].shape == (n, 32)  # the tiny encoder's width
    assert torch.allclose(entry["vectors"].float().norm(dim=1), torch.ones(n), atol=1e-2)
    weights = ("0.25", "0.4", "0.6")
    plain = {*weights, *(f"{w} presence {p}" for w in weights for p in (0.2, 0.4, 0.8))}
    # each setting by the plain cosine and by the similarity learnt from the plans
    assert set(entry["validation"]) == {"off", *plain, *(f"{label} learned" for label in plain)}
    best = max(entry["validation"].values(), key=lambda m: m["node_f1"] + m["edge_f1"])
    kept = entry["validation"][ConsensusSettings.from_dict(entry).label]
    assert kept["node_f1"] + kept["edge_f1"] == pytest.approx(best["node_f1"] + best["edge_f1"])
    # the classifier is kept only when the vote reads it
    assert (entry["presence"] is not None) == bool(entry["model_weight"] is not None and entry["presence_weight"])
    # and the learnt similarity only when the vote's neighbours are its
    assert (entry["similarity"] is not None) == bool(entry["model_weight"] is not None and entry["learned"])


def test_the_index_holds_the_validation_plans_and_an_evaluation_leaves_each_log_out_of_its_own_vote(
        tiny_checkpoint, checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu")
    assert len(planner.index) == len(checkpoint.train_plans) + len(checkpoint.val_ids)
    validation = [Example(p["id"], p["instruction"], None, p["types"], p["workers"], p["parents"])
                  for p in checkpoint.consensus["validation_plans"]]
    ids = [e.id for e in validation]
    # copying the nearest plan of the whole index would copy each validation log's own plan
    near, _ = planner.index.nearest(planner.embed([e.instruction for e in validation]), 3)
    assert [planner.index.plans[row[0]]["id"] for row in near] == ids
    left, _ = planner.index.nearest(planner.embed([e.instruction for e in validation]), 3, ids)
    assert [row[:2] for row in left] == [row[1:] for row in near]  # the same neighbours, without itself
    # forced to follow its nearest plan, each log follows another's; without leave_out, its own
    planner.consensus = ConsensusSettings(model_weight=0.0, k=1)
    texts = [e.instruction for e in validation]
    assert [d.follows for d in planner.decode_batch(texts)] == texts
    assert all(d.follows != t for d, t in zip(planner.decode_batch(texts, leave_out=ids), texts))
    # the evaluation's baseline copies, for each log, the nearest plan other than its own
    ours = evaluate_planner(Planner(checkpoint, "cpu"), validation)
    assert ours["baseline"]["n"] == len(validation) and ours["baseline"]["exact_match"] < 1.0
    expected = aggregate([score(planner.index.graphs[row[0]], Graph(e.types, e.workers, e.parents))
                          for row, e in zip(left, validation)])
    assert ours["baseline"] == expected


def test_an_evaluation_on_the_training_logs_themselves_copies_each_from_another(tiny_checkpoint, checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu")
    examples = [Example(p["id"], p["instruction"], None, p["types"], p["workers"], p["parents"])
                for p in checkpoint.train_plans[:12]]
    report = evaluate_planner(planner, examples)
    assert report["n"] == 12 and report["baseline"]["n"] == 12 and report["baseline"]["exact_match"] < 1.0
    with pytest.raises(ValueError, match="2 logs to leave out for 3 queries"):
        planner.index.nearest(planner.embed([e.instruction for e in examples[:3]]), 2, ["a", "b"])


def test_the_presence_classifier_decides_between_neighbours(tmp_path, checkpoint):
    planner = Planner(checkpoint, "cpu", consensus=False)
    query = checkpoint.train_plans[0]["instruction"]
    near, _ = planner.index.nearest(planner.embed([query]), 3)
    alone = planner.decode_batch([query])[0].graph.types
    # a neighbour whose types no other candidate has: the classifier is made to expect exactly those
    target = next(i for i in near[0] if planner.index.plans[i]["types"] != alone and
                  sum(planner.index.plans[j]["types"] == planner.index.plans[i]["types"] for j in near[0]) == 1)
    wanted = sorted(set(planner.index.plans[target]["types"]))
    others = sorted({t for i in near[0] for t in planner.index.plans[i]["types"]} | set(alone) - set(wanted))
    width = planner.encoder.hidden_size + planner.config.hidden  # the index vector and the planner's reading
    presence = TypePresence(wanted + others, torch.zeros(width, len(wanted) + len(others)),
                            torch.tensor([12.0] * len(wanted) + [-12.0] * len(others)))
    entry = {**checkpoint.consensus, "model_weight": 0.25, "k": 3, "presence_weight": 50.0,
             "presence": presence.to_dict()}
    forced = tmp_path / "presence.pth"
    save_checkpoint(replace(checkpoint, consensus=entry), forced)
    voted = Planner.load(forced, "cpu")
    assert voted.presence is not None and voted.consensus.presence_weight == 50.0
    plan = voted.plan(query)
    assert [s["type"] for s in plan["subtasks"]] == planner.index.plans[target]["types"]
    assert plan["meta"]["follows"] == planner.index.plans[target]["instruction"]
    # and `orchestai eval` says the vote reads it
    from click.testing import CliRunner

    from orchestai_core.cli import main
    from orchestai_core.export import write_jsonl
    from orchestai_core.synth import generate_logs

    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(3, seed=5), data)
    text = CliRunner().invoke(main, ["eval", "--checkpoint", str(forced), "--data", str(data), "--device", "cpu"])
    assert text.exit_code == 0, text.output
    assert "nearest training plans vote; model weight 0.25, type-presence weight 50.0)" in text.output
    # weight 0 in the checkpoint: the classifier is not read, even when kept
    save_checkpoint(replace(checkpoint, consensus={**entry, "presence_weight": 0.0}), forced)
    assert Planner.load(forced, "cpu").presence is None
    # a classifier that reads another width of features than this planner gives is refused on loading
    narrow = TypePresence(wanted, torch.zeros(width - 1, len(wanted)), torch.zeros(len(wanted)))
    save_checkpoint(replace(checkpoint, consensus={**entry, "presence": narrow.to_dict()}), forced)
    with pytest.raises(CheckpointError, match=f"reads {width - 1} features of a request, where this planner gives"):
        Planner.load(forced, "cpu")


def test_the_presence_classifier_reads_the_types_names(tmp_path, checkpoint):
    """A classifier with no weights of its own decides the vote by the types' names alone: the wanted types'
    names point where the request's vector does, the others' away."""
    planner = Planner(checkpoint, "cpu", consensus=False)
    query = checkpoint.train_plans[0]["instruction"]
    vector = planner.embed([query])[0]
    near, _ = planner.index.nearest(vector.unsqueeze(0), 3)
    alone = planner.decode_batch([query])[0].graph.types
    target = next(i for i in near[0] if planner.index.plans[i]["types"] != alone and
                  sum(planner.index.plans[j]["types"] == planner.index.plans[i]["types"] for j in near[0]) == 1)
    wanted = sorted(set(planner.index.plans[target]["types"]))
    others = sorted({t for i in near[0] for t in planner.index.plans[i]["types"]} | set(alone) - set(wanted))
    width = planner.encoder.hidden_size + planner.config.hidden
    names = torch.stack([vector] * len(wanted) + [-vector] * len(others))
    presence = TypePresence(wanted + others, torch.zeros(width, len(names)), torch.zeros(len(names)), names, 12.0)
    entry = {**checkpoint.consensus, "model_weight": 0.25, "k": 3, "presence_weight": 50.0,
             "presence": presence.to_dict()}
    forced = tmp_path / "names.pth"
    save_checkpoint(replace(checkpoint, consensus=entry), forced)
    plan = Planner.load(forced, "cpu").plan(query)
    assert [s["type"] for s in plan["subtasks"]] == planner.index.plans[target]["types"]
    # without the names (a classifier saved before them) it has no opinion, and the vote goes back to the plans
    older = {k: v for k, v in presence.to_dict().items() if k not in ("names", "name_weight")}
    save_checkpoint(replace(checkpoint, consensus={**entry, "presence": older}), forced)
    assert Planner.load(forced, "cpu").presence.names is None


def test_the_fit_gives_the_classifier_every_type_s_name_as_the_encoder_reads_it(monkeypatch, tiny_checkpoint,
                                                                                 checkpoint):
    import orchestai_core.consensus_fit as consensus_fit
    from orchestai_core.model.presence import fit_presence

    seen = []

    def recording(vectors, plans, **kwargs):
        seen.append(({t for plan in plans for t in plan}, kwargs.get("names")))
        return fit_presence(vectors, plans, **kwargs)

    monkeypatch.setattr(consensus_fit, "fit_presence", recording)
    planner = Planner(checkpoint, "cpu", consensus=False)
    validation = [Example(p["id"], p["instruction"], None, p["types"], p["workers"], p["parents"])
                  for p in checkpoint.consensus["validation_plans"]]
    train = planner.read([p["instruction"] for p in checkpoint.train_plans])
    consensus_fit.fit(planner, train, validation)
    assert seen
    for types, names in seen:
        assert names is not None and types <= set(names)
        for name in list(types)[:3]:
            assert torch.allclose(names[name], planner.embed([name.replace("_", " ")])[0], atol=1e-5)


def test_what_the_fit_reads_from_cached_states_is_what_the_planner_reads_from_text(tiny_checkpoint, checkpoint):
    from orchestai_core.consensus_fit import readings_from_items

    planner = Planner.load(tiny_checkpoint, "cpu", consensus=False)
    texts = [p["instruction"] for p in checkpoint.train_plans[:6]]
    vectors, inputs = planner.read(texts)
    assert torch.allclose(vectors, planner.embed(texts), atol=1e-5)
    assert inputs.shape == (6, planner.encoder.hidden_size + planner.config.hidden)
    assert torch.equal(inputs[:, :planner.encoder.hidden_size], vectors)
    assert torch.allclose(inputs[:, planner.encoder.hidden_size:].norm(dim=1), torch.ones(6), atol=1e-5)
    items = cached_items(planner, texts)  # what the trainer caches: each instruction's states, unpadded
    cached_vectors, cached_inputs = readings_from_items(planner, items)
    assert torch.allclose(cached_vectors, vectors, atol=1e-5) and torch.allclose(cached_inputs, inputs, atol=1e-5)
    # planning reads the same from its own decoding pass
    batch, tokens, words = planner.encoder.tokenize_words(texts)
    states = planner.encoder.frozen_states(**batch)
    out = planner.model.generate(states, batch["attention_mask"].bool(), planner.model.numbers(tokens, words))
    assert torch.allclose(out["reading"], inputs[:, planner.encoder.hidden_size:], atol=1e-5)


def test_the_fit_plans_its_validation_logs_from_cached_states_as_the_planner_plans_their_text(tiny_checkpoint,
                                                                                            checkpoint):
    """The consensus fit plans the validation logs from the states training cached (`plans_from_items`, in
    batches of similar length): the plans `decode_batch` makes from their text, in their order, and the fit
    keeps what it keeps when it encodes them again."""
    from orchestai_core.consensus_fit import fit, plans_from_items
    from orchestai_core.synth import generate_logs
    from orchestai_core.training_data import example_from_log

    planner = Planner.load(tiny_checkpoint, "cpu", consensus=False)
    logs = list(generate_logs(70, seed=17))  # more than one batch of 64
    texts = [log["instruction"] for log in logs]
    items = cached_items(planner, texts)
    cached = plans_from_items(planner, items)
    planned = [d.graph for d in planner.decode_batch(texts)]
    assert [(g.types, g.parents) for g in cached] == [(g.types, g.parents) for g in planned]
    lengths = [i.tokens.shape[0] for i in items]
    assert lengths != sorted(lengths)  # batched by length, put back in order (plans that differ: test_default_planner)
    examples = [example_from_log(log) for log in logs]
    train = planner.read([p["instruction"] for p in checkpoint.train_plans])
    readings = planner.read(texts)
    with_items, without = fit(planner, train, examples, readings, items), fit(planner, train, examples, readings)
    assert with_items["validation"] == without["validation"]
    assert {k: with_items[k] for k in ("model_weight", "presence_weight", "learned")} == \
        {k: without[k] for k in ("model_weight", "presence_weight", "learned")}


def test_a_consensus_entry_from_before_validation_plans_and_presence_still_plans(tmp_path, checkpoint):
    entry = {k: v for k, v in checkpoint.consensus.items() if k not in ("validation_plans", "presence",
                                                                          "presence_weight")}
    entry["vectors"] = entry["vectors"][:len(checkpoint.train_plans)]
    entry["model_weight"] = 0.25
    old = tmp_path / "old-entry.pth"
    save_checkpoint(replace(checkpoint, consensus=entry), old)
    planner = Planner.load(old, "cpu")
    assert len(planner.index) == len(checkpoint.train_plans) and planner.presence is None
    assert planner.consensus.on and planner.consensus.presence_weight == 0.0
    assert planner.plan(checkpoint.train_plans[1]["instruction"])["subtasks"]


def test_a_vote_under_the_learnt_similarity_reads_its_neighbours_and_the_baseline_keeps_the_plain_cosine(
        tmp_path, checkpoint):
    width = checkpoint.consensus["vectors"].shape[1]
    similarity = LearnedSimilarity(torch.randn(width, width, generator=torch.Generator().manual_seed(0)))
    entry = {**checkpoint.consensus, "model_weight": 0.0, "k": 1, "presence_weight": 0.0, "learned": True,
             "similarity": similarity.to_dict()}
    learnt = tmp_path / "learnt.pth"
    save_checkpoint(replace(checkpoint, consensus=entry), learnt)
    planner = Planner.load(learnt, "cpu")
    assert planner.consensus.learned and torch.equal(planner.similarity.matrix, similarity.matrix)
    plans = checkpoint.consensus["validation_plans"] + checkpoint.train_plans[:20]
    texts, ids = [p["instruction"] for p in plans], [p["id"] for p in plans]
    vectors = planner.embed(texts)
    learnt_index = PlanIndex(similarity.project(planner.index.vectors), planner.index.plans)
    by_learnt, _ = learnt_index.nearest(similarity.project(vectors), 1, ids)
    by_cosine, _ = planner.index.nearest(vectors, 1, ids)
    wanted = [planner.index.plans[row[0]]["instruction"] for row in by_learnt]
    plain = [planner.index.plans[row[0]]["instruction"] for row in by_cosine]
    assert wanted != plain  # this map picks other neighbours than the plain cosine for some requests
    # weight 0 and one neighbour: each plan follows its nearest neighbour's by the learnt similarity
    assert [d.follows for d in planner.decode_batch(texts, leave_out=ids)] == wanted
    # the nearest-neighbour baseline copies by the plain cosine
    examples = [Example(p["id"], p["instruction"], None, p["types"], p["workers"], p["parents"]) for p in plans]
    baseline = evaluate_planner(planner, examples)["baseline"]
    copied = aggregate([score(planner.index.graphs[row[0]], Graph(e.types, e.workers, e.parents))
                        for row, e in zip(by_cosine, examples)])
    assert baseline["node_f1"] == pytest.approx(copied["node_f1"])
    # `orchestai eval` says which similarity the vote reads
    from click.testing import CliRunner

    from orchestai_core.cli import main
    from orchestai_core.export import write_jsonl
    from orchestai_core.synth import generate_logs

    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(3, seed=5), data)
    text = CliRunner().invoke(main, ["eval", "--checkpoint", str(learnt), "--data", str(data), "--device", "cpu"])
    assert text.exit_code == 0, text.output
    assert "its 1 nearest training plans vote, nearest by the similarity learnt from the plans;" in text.output


def test_a_learnt_similarity_that_is_missing_or_of_another_width_is_refused(tmp_path, checkpoint):
    width = checkpoint.consensus["vectors"].shape[1]
    entry = {**checkpoint.consensus, "model_weight": 0.25, "learned": True, "similarity": None}
    broken = tmp_path / "broken.pth"
    save_checkpoint(replace(checkpoint, consensus=entry), broken)
    with pytest.raises(CheckpointError, match="read a similarity learnt from the plans, which it does not hold"):
        Planner.load(broken, "cpu")
    assert not Planner.load(broken, "cpu", consensus=False).consensus.on  # planning alone does not read it
    narrow = LearnedSimilarity(torch.eye(width - 1)).to_dict()
    save_checkpoint(replace(checkpoint, consensus={**entry, "similarity": narrow}), broken)
    with pytest.raises(CheckpointError, match=f"reads vectors of width {width - 1}, where its index holds vectors "
                                              f"of width {width}"):
        Planner.load(broken, "cpu")


def test_the_kept_vectors_are_the_planners_own_embeddings_of_the_training_requests(tiny_checkpoint, checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu")
    texts = [p["instruction"] for p in checkpoint.train_plans[:8]]
    assert torch.allclose(planner.embed(texts), checkpoint.consensus["vectors"][:8].float(), atol=2e-3)


def test_a_plan_that_loses_the_vote_becomes_the_training_plan_with_workers_for_this_instruction(tiny_checkpoint,
                                                                                               checkpoint):
    planner = Planner.load(tiny_checkpoint, "cpu", consensus=False)
    texts = [p["instruction"] for p in checkpoint.train_plans]
    # a training request the tiny model alone plans differently from its log
    source = next(p for p, d in zip(checkpoint.train_plans, planner.decode_batch(texts))
                  if (d.graph.types, d.graph.parents) != (p["types"], p["parents"]))
    planner.consensus = ConsensusSettings(model_weight=0.0, k=1)  # the nearest training plan wins unless equal
    plan = planner.plan(source["instruction"])
    assert plan["meta"]["follows"] == source["instruction"]  # its own request is its nearest
    assert [s["type"] for s in plan["subtasks"]] == source["types"]
    parents = [sorted(int(d[1:]) - 1 for d in s["depends_on"]) for s in plan["subtasks"]]
    assert parents == [sorted(p) for p in source["parents"]] and find_cycle(parents) is None
    for task in plan["subtasks"]:
        assert task["worker"] in planner.worker_names and 0.0 <= task["p_success"] <= 1.0
        assert task["worker"] in task["worker_outcomes"]


def test_consensus_off_keeps_the_models_plans_as_decoded(tiny_checkpoint, checkpoint):
    off = Planner.load(tiny_checkpoint, "cpu", consensus=False)
    assert not off.consensus.on
    alone = Planner.load(tiny_checkpoint, "cpu")
    alone.consensus = ConsensusSettings(None)
    texts = [p["instruction"] for p in checkpoint.train_plans[:6]]
    assert [d.graph for d in off.decode_batch(texts)] == [d.graph for d in alone.decode_batch(texts)]
    assert all(d.follows is None for d in off.decode_batch(texts))


def test_a_checkpoint_from_before_consensus_plans_alone_and_still_has_its_baseline(tmp_path, tiny_checkpoint,
                                                                                   checkpoint):
    old = tmp_path / "old.pth"
    save_checkpoint(replace(checkpoint, consensus=None), old)
    planner = Planner.load(old, "cpu")
    assert planner.index is None and not planner.consensus.on
    from orchestai_core.synth import generate_logs

    examples = [example_from_log(log) for log in generate_logs(6, seed=3)]
    result = evaluate_planner(planner, examples)
    assert result["n"] == 6 and result["baseline"]["n"] == 6


def test_cli_plan_and_eval_say_and_switch_consensus(tmp_path, checkpoint):
    import json

    from click.testing import CliRunner

    from orchestai_core.cli import main
    from orchestai_core.export import write_jsonl
    from orchestai_core.synth import generate_logs

    forced = tmp_path / "forced.pth"  # every plan follows its nearest training plan (unless the model's is the same)
    save_checkpoint(replace(checkpoint, consensus={**checkpoint.consensus, "model_weight": 0.0, "k": 1}), forced)
    source = checkpoint.train_plans[0]
    runner = CliRunner()
    on = runner.invoke(main, ["plan", "--checkpoint", str(forced), "--device", "cpu", source["instruction"]])
    assert on.exit_code == 0, on.output
    assert [s["type"] for s in json.loads(on.stdout)["subtasks"]] == source["types"]
    off = runner.invoke(main, ["plan", "--checkpoint", str(forced), "--device", "cpu", "--no-consensus",
                               source["instruction"]])
    assert off.exit_code == 0 and "follows" not in json.loads(off.stdout)["meta"]
    data = tmp_path / "logs.jsonl"
    write_jsonl(generate_logs(4, seed=5), data)
    text = runner.invoke(main, ["eval", "--checkpoint", str(forced), "--data", str(data), "--device", "cpu"])
    assert text.exit_code == 0, text.output
    assert "consensus decoding: on (the model's plan and its 1 nearest training plans vote; model weight 0.0)" \
        in text.output
    order = checkpoint.consensus.get("order")  # the step order its training fitted (`model/ordering.py`)
    assert order is not None and f"step order: {describe_order(order['weight'])}" in text.output
    alone = runner.invoke(main, ["eval", "--checkpoint", str(forced), "--data", str(data), "--json",
                                 "--no-consensus"])
    assert alone.exit_code == 0 and json.loads(alone.stdout)["consensus"]["model_weight"] is None


def test_the_training_summary_and_log_say_what_the_fit_kept(tmp_path, tiny_encoder, capsys):
    from planner_fixtures import tiny_model_config, tiny_train_config

    from orchestai_core.synth import generate_logs
    from orchestai_core.train import Phase1Trainer

    trainer = Phase1Trainer(tiny_train_config(num_epochs=2), tiny_model_config(tiny_encoder), tmp_path, "cpu",
                            progress=False)
    trainer.setup([example_from_log(log) for log in generate_logs(40, seed=12)])
    summary = trainer.train()["consensus"]
    entry = load_checkpoint(tmp_path / "phase1_best_model.pth").consensus
    assert summary["model_weight"] == entry["model_weight"] and summary["presence_weight"] == entry["presence_weight"]
    kept = ConsensusSettings.from_dict(entry)
    assert set(summary["validation"]) == set(entry["validation"]) and kept.label in summary["validation"]
    lines = capsys.readouterr().err.splitlines()
    line = next(x for x in lines if x.startswith("consensus decoding: "))
    # the run's log names its two quiet stretches, encoding before the first epoch and the fit after the last
    where = {phase: next(i for i, x in enumerate(lines) if x.startswith(phase)) for phase in (
        "encoding the 40 instructions once", "32 training and 8 validation logs", "epoch 2/2",
        "fitting consensus decoding to the best checkpoint", "consensus decoding: ")}
    assert list(where.values()) == sorted(where.values()), lines
    assert ConsensusSettings.from_dict(summary) == kept  # the summary holds the settings whole
    if kept.on:
        learnt = ", neighbours by the learnt similarity" if kept.learned else ""
        assert f"model weight {kept.model_weight}, presence weight {kept.presence_weight}{learnt};" in line
    else:
        assert line.startswith("consensus decoding: off (the model alone plans validation best);")
    assert f"{summary['validation'][kept.label]['node_f1']:.3f} as kept" in line
    # then the step order (`model/ordering.py`): its weight, or off, in the log and the summary as in the checkpoint
    order = next(x for x in lines if x.startswith("step order: "))
    assert lines.index(order) == lines.index(line) + 1
    assert summary["order"]["weight"] == entry["order"]["weight"] and set(summary["order"]["validation"]) == \
        set(entry["order"]["validation"])
    assert order.startswith(f"step order: {describe_order(entry['order']['weight'])}")

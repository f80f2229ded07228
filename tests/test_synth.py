"""The synthetic corpus: valid, deterministic, varied, with realistic shapes, workers and outcomes."""

import collections
import re
import statistics

import pytest

from orchestai_core.catalogue import load_catalogue
from orchestai_core.schema import validate_log
from orchestai_core.synth import generate_logs
from orchestai_core.synth.generator import build_log
from orchestai_core.synth.phrasing import IDIOMS, NUMBER_WORDS, parse_number
from orchestai_core.synth.policy import EXPLORE, expert_worker
from orchestai_core.synth.slots import ITEM_POOLS
from orchestai_core.synth.tasks import TASK_TYPES
from orchestai_core.synth.templates import BASES, DOMAINS, TEMPLATES
from orchestai_core.synth.truth import logging_distribution

NUMBER = "|".join([*(i for ids in IDIOMS.values() for i in ids), *NUMBER_WORDS, r"\d+"])


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def corpus():
    return list(generate_logs(1000, seed=0))


def _template(base_name, addons=1):
    return next(t for t in TEMPLATES if t.base.name == base_name and len(t.addons) == addons)


def test_every_generated_log_is_valid(corpus):
    for log in corpus:
        validate_log(log)
        assert log["source"] == "synthetic" and log["id"].startswith("syn-s0-")


def test_same_seed_gives_the_same_logs_and_prefixes_agree():
    assert list(generate_logs(50, seed=7)) == list(generate_logs(50, seed=7))
    assert list(generate_logs(10, seed=7)) == list(generate_logs(50, seed=7))[:10]


def test_another_seed_gives_new_instructions_from_the_same_templates(corpus):
    other = list(generate_logs(1000, seed=1))
    assert not {log["id"] for log in other} & {log["id"] for log in corpus}
    shared = {log["instruction"] for log in other} & {log["instruction"] for log in corpus}
    assert len(shared) < 20
    names = {t.name for t in TEMPLATES}
    assert {log["template"] for log in other} == {log["template"] for log in corpus} == names


def test_two_hundred_templates_over_at_least_twelve_domains():
    assert len(TEMPLATES) >= 200
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)
    assert len(DOMAINS) >= 12


def test_every_template_has_at_least_three_phrasings_that_name_its_slots():
    for base in BASES:
        phrasings = base.asks + base.statements
        assert len(phrasings) >= 3, base.name
        for text in phrasings:
            assert ("{items}" in text) == bool(base.item_kind), (base.name, text)
            assert "{items}" in text or "{subject}" in text, (base.name, text)


def test_subtask_counts_span_two_to_forty_with_mean_near_twenty(corpus):
    counts = [len(log["subtasks"]) for log in corpus]
    assert min(counts) >= 2 and max(counts) <= 40
    assert min(counts) <= 3 and max(counts) >= 35
    assert 17 <= statistics.mean(counts) <= 23


def test_dags_have_fan_out_fan_in_and_parallel_branches(corpus):
    def shape(log):
        children = collections.Counter(d for s in log["subtasks"] for d in s["depends_on"])
        fan_in = any(len(s["depends_on"]) >= 2 for s in log["subtasks"])
        return fan_in, any(n >= 2 for n in children.values())

    shapes = [shape(log) for log in corpus]
    assert sum(fi for fi, _ in shapes) / len(shapes) > 0.5
    assert sum(fo for _, fo in shapes) / len(shapes) > 0.5
    chains = [log for log in corpus if all(len(s["depends_on"]) <= 1 for s in log["subtasks"])]
    assert chains, "some workflows are simple chains too"


def test_subtasks_are_listed_parents_first(corpus):
    for log in corpus:
        seen = set()
        for s in log["subtasks"]:
            assert set(s["depends_on"]) <= seen, (log["id"], s["id"])
            seen.add(s["id"])


def test_rich_type_vocabulary_reused_across_templates(corpus):
    types = {s["type"] for log in corpus for s in log["subtasks"]}
    assert len(types) >= 60
    assert types <= set(TASK_TYPES)
    templates_per_type = collections.defaultdict(set)
    for log in corpus:
        for s in log["subtasks"]:
            templates_per_type[s["type"]].add(log["template"].split("+")[0])
    assert statistics.median(len(v) for v in templates_per_type.values()) >= 3


def test_instructions_vary_in_wording_for_the_same_template(corpus):
    by_template = collections.defaultdict(set)
    for log in corpus:
        # Sentence shape without slot values: names, numbers and file names become X.
        shape = re.sub(r"[A-Z0-9][\w#.&'-]*|\w+\.\w+", "X", log["instruction"])
        by_template[log["template"]].add(shape[:60])
    assert statistics.mean(len(v) for v in by_template.values()) >= 4
    openings = collections.Counter(" ".join(log["instruction"].split()[:2]) for log in corpus)
    assert len(openings) >= 150 and openings.most_common(1)[0][1] < 60
    assert sum("?" in log["instruction"] for log in corpus) >= 100
    assert sum(log["instruction"][:1].islower() for log in corpus) >= 10  # terse chat-style requests


def test_policy_mode_is_stated_in_the_instruction(corpus):
    budget = [log["instruction"] for log in corpus if log["meta"]["mode"] == "budget"]
    assert budget and all(re.search(r"cheap|budget|cost|spend|money|overspend", text, re.I) for text in budget)


def _branch_count(log, branch_type):
    return sum(1 for s in log["subtasks"] if s["type"] == branch_type)


def test_counts_in_words_or_digits_set_the_number_of_branches(catalogue):
    template = _template("research-compare-vendors")
    names = ITEM_POOLS["vendor"].names
    seen = set()
    for index in range(300):
        log = build_log(template, index, seed=3, catalogue=catalogue)
        branches = _branch_count(log, "web_search")
        match = re.search(rf"\b({NUMBER}) vendors\b", log["instruction"])
        named = sum(name in log["instruction"] for name in names)
        if match:
            assert branches == parse_number(match.group(1)), log["instruction"]
            seen.add("digits" if match.group(1).isdigit() else "words")
            seen.add("counted and named" if named else "counted only")
        else:
            assert branches == named, log["instruction"]
    assert seen == {"digits", "words", "counted and named", "counted only"}


def test_each_named_language_gets_its_own_translate_branch_in_mention_order(catalogue):
    languages = ITEM_POOLS["language"].names
    sizes = set()
    for index in range(200):
        log = build_log(_template("translation-docs"), index, seed=5, catalogue=catalogue)
        mentioned = sorted((log["instruction"].index(lang), lang) for lang in languages if lang in log["instruction"])
        translations = [s for s in log["subtasks"] if s["type"] == "translate"]
        assert [lang for _, lang in mentioned] == [s["description"].rsplit(" ", 1)[-1] for s in translations]
        parents = {tuple(s["depends_on"]) for s in translations}
        assert len(parents) == 1, "the branches run in parallel from the same step"
        sizes.add(len(translations))
    assert len(sizes) >= 5


def test_number_words_and_digits_parse_back():
    assert [parse_number(w) for w in ("three", "3", "half a dozen", "a couple of", "ten")] == [3, 3, 6, 2, 10]


def test_most_logs_succeed_and_failures_skip_downstream(corpus):
    rate = sum(log["success"] for log in corpus) / len(corpus)
    assert 0.55 <= rate <= 0.72
    for log in corpus:
        status = {s["id"]: s["status"] for s in log["subtasks"]}
        for s in log["subtasks"]:
            if any(status[d] != "success" for d in s["depends_on"]):
                assert s["status"] == "skipped"
        assert log["success"] == all(v == "success" for v in status.values())
    assert any(s["status"] == "failed" for log in corpus for s in log["subtasks"])


def test_costs_and_latency_follow_the_catalogue(corpus, catalogue):
    for log in corpus[:200]:
        finish = {}
        for s in log["subtasks"]:
            finish[s["id"]] = s["latency_ms"] + max((finish[d] for d in s["depends_on"]), default=0.0)
            if s["status"] == "skipped":
                assert s["cost_usd"] == 0 and s["latency_ms"] == 0
                continue
            worker = catalogue.get(s["worker"])
            assert s["cost_usd"] == pytest.approx(worker.cost_usd(s["tokens_in"], s["tokens_out"]), abs=1e-6)
            assert s["latency_ms"] > 0
        assert log["total_cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in log["subtasks"]), abs=1e-5)
        assert log["total_latency_ms"] == pytest.approx(max(finish.values()), abs=0.2)
        assert log["total_latency_ms"] <= sum(s["latency_ms"] for s in log["subtasks"]) + 0.2


def test_expert_policy_prefers_cheap_workers_and_specialists(catalogue):
    assert expert_worker("translate", "standard", catalogue).name == "nllb-200"
    assert expert_worker("transcribe_audio", "standard", catalogue).name == "whisper-large-v3"
    assert expert_worker("write_code", "standard", catalogue).name == "codestral"
    assert expert_worker("caption_image", "standard", catalogue).kind == "vision"
    assert expert_worker("embed_text", "standard", catalogue).kind == "embedding"
    assert expert_worker("legal_review", "standard", catalogue).kind == "general-strong"
    assert expert_worker("clean_text", "standard", catalogue).name == "llama-3-8b"
    # a tight budget lowers the bar: a cheaper worker than the premium choice
    cheap, premium = expert_worker("summarize", "budget", catalogue), expert_worker("summarize", "premium", catalogue)
    assert cheap.cost_usd(1000, 1000) < premium.cost_usd(1000, 1000)


def test_the_logging_policy_explores_a_tenth_of_its_choices(corpus, catalogue):
    steps = [(log, i) for log in corpus for i in range(len(log["subtasks"]))]
    expert = [expert_worker(log["subtasks"][i]["type"], log["meta"]["mode"], catalogue).name for log, i in steps]
    off = sum(log["subtasks"][i]["worker"] != name for (log, i), name in zip(steps, expert))
    # expected count and spread from the exact probabilities of leaving the expert's choice
    leave = [1 - logging_distribution(log, i, catalogue)[name] for (log, i), name in zip(steps, expert)]
    assert max(leave) == pytest.approx(EXPLORE)
    assert abs(off - sum(leave)) <= 4 * sum(p * (1 - p) for p in leave) ** 0.5
    assert 0.08 <= off / len(steps) <= EXPLORE

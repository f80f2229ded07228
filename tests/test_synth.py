"""The synthetic corpus: valid, deterministic, varied, with realistic shapes, workers and outcomes."""

import collections
import random
import re
import statistics

import pytest

from orchestai_core.catalogue import load_catalogue
from orchestai_core.schema import validate_log
from orchestai_core.synth import generate_logs
from orchestai_core.synth.generator import build_log
from orchestai_core.synth.phrasing import NUMBER_WORDS
from orchestai_core.synth.policy import choose_worker, expert_worker
from orchestai_core.synth.tasks import TASK_TYPES
from orchestai_core.synth.templates import DOMAINS, TEMPLATES


@pytest.fixture(scope="module")
def corpus():
    return list(generate_logs(1000, seed=0))


def test_every_generated_log_is_valid(corpus):
    for log in corpus:
        validate_log(log)


def test_same_seed_gives_the_same_logs_and_prefixes_agree():
    assert list(generate_logs(50, seed=7)) == list(generate_logs(50, seed=7))
    assert list(generate_logs(10, seed=7)) == list(generate_logs(50, seed=7))[:10]


def test_another_seed_gives_new_instructions_from_the_same_templates(corpus):
    other = list(generate_logs(1000, seed=1))
    assert not {log["id"] for log in other} & {log["id"] for log in corpus}
    shared = {log["instruction"] for log in other} & {log["instruction"] for log in corpus}
    assert len(shared) < 50
    names = {t.name for t in TEMPLATES}
    assert {log["template"] for log in other} <= names


def test_two_hundred_templates_over_at_least_twelve_domains():
    assert len(TEMPLATES) >= 200
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)
    assert len(DOMAINS) >= 12


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


def test_rich_type_vocabulary_and_varied_phrasing(corpus):
    types = {s["type"] for log in corpus for s in log["subtasks"]}
    assert len(types) >= 60
    assert types <= set(TASK_TYPES)
    by_template = collections.defaultdict(set)
    for log in corpus:
        # The phrasing without slot values: strip names and numbers to compare sentence shapes.
        by_template[log["template"]].add(re.sub(r"[A-Z0-9][\w#.&'-]*", "X", log["instruction"])[:40])
    assert statistics.mean(len(v) for v in by_template.values() if len(v) > 1) >= 2


def test_counts_in_words_or_digits_set_the_number_of_branches():
    template = next(t for t in TEMPLATES if t.base.name == "research-compare-vendors")
    seen = set()
    for index in range(300):
        log = build_log(template, index, seed=3, catalogue=load_catalogue())
        branches = sum(1 for s in log["subtasks"] if s["type"] == "web_search")
        match = re.search(r"\b(two|three|four|five|six|seven|eight|nine|\d) vendors\b", log["instruction"])
        if match:
            word = match.group(1)
            number = int(word) if word.isdigit() else NUMBER_WORDS.index(word)
            assert branches == number, log["instruction"]
            seen.add("digits" if word.isdigit() else "words")
        else:
            named = sum(name in log["instruction"] for name in ("Acme Cloud", "Globex", "Initech", "Umbrella Systems",
                                                                "Hooli", "Stark Data", "Wayne Analytics",
                                                                "Soylent Software", "Vandelay Tech"))
            assert branches == named, log["instruction"]
    assert seen == {"digits", "words"}


def test_success_rate_is_near_85_percent_and_failures_skip_downstream(corpus):
    rate = sum(log["success"] for log in corpus) / len(corpus)
    assert 0.80 <= rate <= 0.90
    for log in corpus:
        status = {s["id"]: s["status"] for s in log["subtasks"]}
        for s in log["subtasks"]:
            if any(status[d] != "success" for d in s["depends_on"]):
                assert s["status"] == "skipped"
        assert log["success"] == all(v == "success" for v in status.values())


def test_costs_and_latency_follow_the_catalogue(corpus):
    catalogue = load_catalogue()
    for log in corpus[:100]:
        for s in log["subtasks"]:
            if s["status"] == "skipped":
                continue
            worker = catalogue.get(s["worker"])
            assert s["cost_usd"] == pytest.approx(worker.cost_usd(s["tokens_in"], s["tokens_out"]), abs=1e-6)
        assert log["total_cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in log["subtasks"]), abs=1e-5)


def test_expert_policy_prefers_cheap_workers_and_specialists():
    catalogue = load_catalogue()
    assert expert_worker("translate", "standard", catalogue).name == "nllb-200"
    assert expert_worker("transcribe_audio", "standard", catalogue).name == "whisper-large-v3"
    assert expert_worker("write_code", "standard", catalogue).name == "codestral"
    assert expert_worker("legal_review", "standard", catalogue).kind == "general-strong"
    assert expert_worker("clean_text", "standard", catalogue).name == "llama-3-8b"
    # a tight budget lowers the bar: a cheaper worker than the premium choice
    cheap, premium = expert_worker("summarize", "budget", catalogue), expert_worker("summarize", "premium", catalogue)
    assert cheap.cost_usd(1000, 1000) < premium.cost_usd(1000, 1000)


def test_policy_noise_is_about_five_percent():
    catalogue, rng = load_catalogue(), random.Random(0)
    types = sorted(TASK_TYPES)
    noisy = sum(choose_worker(rng.choice(types), "standard", catalogue, rng)[1] for _ in range(20000))
    assert 0.04 <= noisy / 20000 <= 0.06

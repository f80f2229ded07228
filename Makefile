# The two commands: `make run` and `make test`. Everything installs into .venv from a bare python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_DB ?= /tmp/orchestai-logs-bench.db
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run lint test bench corpus planner clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: install
	$(VENV)/bin/orchestai init
	$(VENV)/bin/streamlit run workbench/app.py --server.address 127.0.0.1 --server.port 8501

# ruff, configured in pyproject.toml; `make test` runs it first, so a lint error fails CI.
lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(PY) -m pytest

# Each benchmark prints one JSON line. plan_bench needs a checkpoint: trained first if there is none.
bench: install
	$(PY) benchmarks/store_bench.py --logs 100000
	$(PY) benchmarks/logs_page_bench.py --db $(BENCH_DB) --logs 100000
	$(PY) benchmarks/train_bench.py --epochs 2
	$(PY) benchmarks/run_control_bench.py --repeats 3
	test -f checkpoints/phase1_best_model.pth || $(VENV)/bin/orchestai train --data assets/default_logs.jsonl.gz --quiet
	$(PY) benchmarks/plan_bench.py --checkpoint checkpoints/phase1_best_model.pth

# Regenerate the bundled default corpus (a test checks it matches the generator).
corpus: install
	$(VENV)/bin/orchestai synth --n 1200 --seed 0 --out assets/default_logs.jsonl.gz

# Retrain the planner that ships (assets/default_planner.pth) by the default recipe on the bundled corpus and
# measure it on the fixed held-out sample (assets/default_planner.json); a test checks both against the code.
PLANNER_BUILD ?= build/default-planner
planner: install
	rm -rf $(PLANNER_BUILD) && mkdir -p $(PLANNER_BUILD)
	$(VENV)/bin/orchestai train --data assets/default_logs.jsonl.gz --out $(PLANNER_BUILD) --db $(PLANNER_BUILD)/runs.db --quiet
	$(VENV)/bin/orchestai bundle-planner $(PLANNER_BUILD)/phase1_best_model.pth --out assets/default_planner.pth

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts build

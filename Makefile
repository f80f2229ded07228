# The two commands: `make run` and `make test`. Everything installs into .venv from a bare python3.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test bench corpus clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: install
	$(VENV)/bin/orchestai init
	$(VENV)/bin/streamlit run workbench/app.py --server.address 127.0.0.1 --server.port 8501

test: install
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/store_bench.py --logs 100000

# Regenerate the bundled default corpus (a test checks it matches the generator).
corpus: install
	$(VENV)/bin/orchestai synth --n 1000 --seed 0 --out assets/default_logs.jsonl.gz

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

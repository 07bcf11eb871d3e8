# Plaza: `make run` sets everything up and serves the store; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SCENE ?= boutique

.PHONY: run test bench setup venv assets client lint clean system-deps

setup: venv assets client

# Virtualenv with the project and its dev tools; re-installed when pyproject.toml changes.
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Generated glTF models and scene files (deterministic; skipped when up to date).
assets: venv
	@if [ -f assets/build.py ]; then $(PY) -m assets.build; fi

# WebXR client dependencies (three.js, IWER) from the npm registry.
client:
	@if [ -f webxr_client/package.json ]; then \
	  cd webxr_client && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }; \
	fi

# System packages some tests need (Chromium for browser tests); root, non-interactive.
system-deps:
	@bash .ci/system-deps.sh

run: setup
	$(PY) -m server serve --host $(HOST) --port $(PORT) --scene $(SCENE)

test: setup system-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Benchmarks write JSON, a markdown table and plots under bench/.
bench: setup
	$(PY) -m sim.bench_realtime
	@if [ -f assets/bench_models.py ]; then $(PY) -m assets.bench_models; fi
	@if [ -f server/sizing/bench.py ]; then $(PY) -m server.sizing.bench; fi
	@if [ -f server/mocap/bench.py ]; then $(PY) -m server.mocap.bench; fi

clean:
	rm -rf $(VENV) webxr_client/node_modules assets/node_modules

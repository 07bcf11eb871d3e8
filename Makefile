# Plaza: `make run` sets everything up and serves the store; `make test` sets up and runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SCENE ?= boutique
# NODES=3: several nodes on one machine sharing one Redis (docs/SCALING.md).
NODES ?= 1
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test test-redis bench bench-versus setup venv assets client lint clean system-deps

setup: venv client assets

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

# Node packages from the npm registry: the WebXR client's (three.js, IWER) and the asset tools'
# (glTF validator). `npm ci` only when node_modules is missing or older than the lock file.
NPM_DIRS := webxr_client assets
client:
	@for d in $(NPM_DIRS); do \
	  if [ -f $$d/package.json ]; then \
	    if [ ! -f $$d/node_modules/.package-lock.json ] || [ $$d/package-lock.json -nt $$d/node_modules/.package-lock.json ]; then \
	      (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	    fi; \
	  fi; \
	done

# System packages some tests need (Chromium for browser tests); root, non-interactive.
system-deps:
	@bash .ci/system-deps.sh

run: setup
ifeq ($(NODES),1)
	$(PY) -m server serve --host $(HOST) --port $(PORT) --scene $(SCENE)
else
	$(PY) -m server.cluster.run_nodes --nodes $(NODES) --host $(HOST) --port $(PORT) --scene $(SCENE) --redis $(REDIS_URL)
endif

test: setup system-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The suite (browser tests aside: they drive the same HTTP API) again with every server on the Redis backend.
test-redis: setup
	PLAZA_TEST_STORAGE=redis $(PY) -m pytest -q --ignore=tests/browser $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# Benchmarks write JSON, a markdown table and plots under bench/.
bench: setup
	$(PY) -m sim.bench_realtime
	$(PY) -m server.net.bench_transport --write
	$(PY) -m server.realtime.bench_hand_model
	@if [ -f assets/bench_models.py ]; then $(PY) -m assets.bench_models; fi
	@if [ -f server/sizing/bench.py ]; then $(PY) -m server.sizing.bench; fi
	@if [ -f server/mocap/bench.py ]; then $(PY) -m server.mocap.bench; fi
	$(PY) -m server.commerce.bench
	$(PY) -m server.gestures.bench
	$(PY) -m server.analytics.bench_recommend
	$(PY) -m server.assistant.bench
	@if [ -f bench/client.py ]; then $(PY) bench/client.py; fi
	$(PY) bench/versus.py

# Plaza vs a minimal Colyseus 0.18 server, same pose workload, server CPU per delivered snapshot:
# bench/versus.md and .json. Its Node packages are installed on demand (npm ci in bench/versus).
# VERSUS_ARGS="--reps 2 --seconds 10" for a shorter run, "--quick" for a smoke run.
bench-versus: setup
	$(PY) bench/versus.py $(VERSUS_ARGS)

clean:
	rm -rf $(VENV) webxr_client/node_modules assets/node_modules

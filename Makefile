# The README's two Quick-start commands, `make run` and `make test`, both install into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint dev clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv==0.13.9 || $(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -C editable_mode=compat -e ".[dev]" \
	  || $(BIN)/python -m pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/supplycast run

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

dev: install
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.supplycast/dagster_home} sh -c 'mkdir -p "$$DAGSTER_HOME" && \
	  { test -f "$$DAGSTER_HOME/dagster.yaml" || printf "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n" > "$$DAGSTER_HOME/dagster.yaml"; } && \
	  $(BIN)/dagster dev -w workspace.yaml'

clean:
	rm -rf $(VENV) .supplycast

# The Dagster UI in headless Chromium (Debian's chromium; see .ci/run). Screenshots land in screenshots/.
.PHONY: test-browser
test-browser: install
	$(BIN)/python -m pytest -q -s -m browser tests/browser

# MLflow UI on the local sqlite store (experiment supplycast-forecast), http://127.0.0.1:5000
.PHONY: mlflow
mlflow: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/.supplycast/mlflow.db --host 127.0.0.1 --port 5000

# Quick start: `make run` (the sample, end to end) then `make dev` (the Dagster UI on that run).
# `make test` runs the tests (`make test-browser` the Dagster UI ones). Each installs into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint dev clean

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on CI images) nothing else writes .pyc files,
# and every process would compile dagster, pandas, mlflow and GX from source on start (~15 s)
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv==0.13.9 || $(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -C editable_mode=compat -e ".[dev]" \
	  || $(BIN)/python -m pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# `supplycast run` records into the state folder's dagster_home (.supplycast/, or $SUPPLYCAST_HOME),
# the instance `make dev` serves: the UI shows every asset the run materialised
run: install
	$(BIN)/supplycast run

test: install
	$(BIN)/python -m pytest -q -m "not browser"

lint: install
	$(BIN)/ruff check .

# the Dagster UI on http://127.0.0.1:$(DAGSTER_PORT), on the DAGSTER_HOME `make run` recorded into;
# `dagster dev` warns on start that it is superseded by `dg dev` (not installed here): that notice is off
DAGSTER_PORT ?= 3000
dev: install
	DAGSTER_HOME="$$($(BIN)/python -c 'from pipelines.cli import dagster_home; print(dagster_home())')" \
	  PYTHONWARNINGS="ignore:Function \`dev_command\` is superseded" \
	  exec $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(DAGSTER_PORT)

clean:
	rm -rf $(VENV) .supplycast

# The Dagster UI in headless Chromium (Debian's chromium; see .ci/run). Screenshots land in screenshots/.
.PHONY: test-browser
test-browser: install
	$(BIN)/python -m pytest -q -s -m browser tests/browser

# MLflow UI on the local sqlite store (experiment supplycast-forecast), http://127.0.0.1:5000
.PHONY: mlflow
mlflow: install
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/.supplycast/warehouse.mlflow.db --host 127.0.0.1 --port 5000

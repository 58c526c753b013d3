# The two commands of the README:
#   make run    sample data -> dbt build (every model and test) -> Last Month export
#   make test   the test suite (installs everything first)
# Everything installs into .venv from requirements.lock (exact pins).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_PIN := uv==0.13.9
UV := $(BIN)/uv

export OPTOUT_RAW_DIR ?= $(CURDIR)/data/raw
export OPTOUT_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
export OPTOUT_SPARK_WAREHOUSE ?= $(CURDIR)/data/spark-warehouse
export OPTOUT_EXPORT_DIR ?= $(CURDIR)/exports
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

SAMPLE_USERS ?= 3000
SAMPLE_DAYS ?= 120

.PHONY: install install-spark manifest run test test-spark test-spark-session lint format dagster dashboard clean \
	spark-cluster spark-cluster-stop spark-cluster-status

install: $(STAMP)

# The spark extra: dbt-spark and pyspark (large: ~470 MB). The tests need it; `make run`
# only with OPTOUT_TARGET=spark.
SPARK_STAMP := $(VENV)/.installed-spark
install-spark: $(SPARK_STAMP)

$(SPARK_STAMP): requirements-spark.lock $(STAMP) | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-spark.lock
	touch $(SPARK_STAMP)

ifeq ($(OPTOUT_TARGET),spark)
ENGINE_STAMP := $(SPARK_STAMP)
endif

# uv installs the locked pins (about 70 s of pip's on a 2-core machine, a few with uv);
# pip brings uv itself, at the version of UV_PIN, also into a venv made before.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check $(UV_PIN)

$(STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# dagster-dbt loads target/manifest.json at import: parse it for this checkout. Dagster reads
# $$DAGSTER_HOME/dagster.yaml: written from deploy/dagster.yaml (PostgreSQL storage when
# OPTOUT_DAGSTER_POSTGRES_URL is set).
manifest: $(STAMP) $(ENGINE_STAMP)
	$(BIN)/python -m orchestration.lib.instance
	cd dbt_project && ../$(BIN)/dbt parse --quiet

# --force: a re-run replaces the sample files an earlier run wrote (and keeps any other).
run: manifest
	$(BIN)/optout generate --out $(OPTOUT_RAW_DIR) --users $(SAMPLE_USERS) --days $(SAMPLE_DAYS) --force
	$(BIN)/optout build --full-refresh  # the sample data was just regenerated
	$(BIN)/optout status
	$(BIN)/optout export --range last_month
	@echo "landing zone: $(OPTOUT_RAW_DIR)"
	@echo "warehouse:    $(if $(filter spark,$(OPTOUT_TARGET)),$(OPTOUT_SPARK_WAREHOUSE) (Spark),$(OPTOUT_WAREHOUSE))  (marts, quarantine; staging and intermediate in its .state.duckdb)"
	@echo "exports:      $(OPTOUT_EXPORT_DIR)"

# Three workers on 2 cores, one test module each (modules share their fixture warehouse):
# much of a test is dbt start-up and waiting on subprocesses, which a third worker fills.
# --no-loadscope-reorder: hand modules out in the order tests/conftest.py gives (longest
# first); xdist's default orders them by their number of tests, which left the long
# Dagster modules for the end. --durations: the slowest, to keep that order right.
test: manifest $(SPARK_STAMP)
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=15

# The Spark tests alone (tests/test_spark.py, also in `make test`): one standalone cluster
# through Thrift, Spark builds compared with DuckDB; `all` adds the full-refresh test that
# `make test` leaves out (a third Spark build).
test-spark: manifest $(SPARK_STAMP)
	OPTOUT_TEST_SPARK=all $(BIN)/pytest tests/test_spark.py

# The same tests on a local Spark inside dbt (`method: session`).
test-spark-session: manifest $(SPARK_STAMP)
	OPTOUT_TEST_SPARK=all OPTOUT_TEST_SPARK_METHOD=session $(BIN)/pytest tests/test_spark.py

lint: manifest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	# sqlfluff compiles the models, which opens a warehouse: use a scratch one.
	mkdir -p .lint/raw
	cd dbt_project && OPTOUT_WAREHOUSE=$(CURDIR)/.lint/warehouse.duckdb \
		OPTOUT_RAW_DIR=$(CURDIR)/.lint/raw ../$(BIN)/sqlfluff lint --processes 0 models macros tests

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `dg dev` (webserver + daemon + code server) of the venv, which it checks is the active one.
dagster: manifest
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg dev -h 127.0.0.1 -p 3000

dashboard: $(STAMP)
	$(BIN)/optout dashboard --port 8501

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs .dagster_home

# A Spark standalone cluster on loopback from the pyspark wheel (master, workers, Thrift
# server); logs, metastore and warehouse in $(SPARK_CLUSTER_DIR). Build and export
# through it with OPTOUT_TARGET=spark OPTOUT_SPARK_METHOD=thrift (README "Running on Spark").
SPARK_CLUSTER_DIR ?= $(CURDIR)/data/spark-cluster
SPARK_MASTER_PORT ?= 7077
SPARK_THRIFT_PORT ?= $(or $(OPTOUT_SPARK_PORT),10000)
SPARK_UI_PORT ?= 8080
SPARK_WORKERS ?= 1
SPARK_WORKER_CORES ?= 2
SPARK_WORKER_MEMORY ?= 3g
SPARK_CLUSTER = $(BIN)/python -m orchestration.lib.spark_cluster --home $(SPARK_CLUSTER_DIR)

spark-cluster: $(SPARK_STAMP)
	$(SPARK_CLUSTER) start --master-port $(SPARK_MASTER_PORT) --thrift-port $(SPARK_THRIFT_PORT) \
		--ui-port $(SPARK_UI_PORT) --workers $(SPARK_WORKERS) --worker-cores $(SPARK_WORKER_CORES) \
		--worker-memory $(SPARK_WORKER_MEMORY)

spark-cluster-stop: $(SPARK_STAMP)
	$(SPARK_CLUSTER) stop

spark-cluster-status: $(SPARK_STAMP)
	$(SPARK_CLUSTER) status

# The verbs people type. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/local.json
PORT ?= 3000
PYTEST_WORKERS ?= 4
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: lock run demo test test-future test-fast browser lint format synth cdk-app deploy bench bench-quick send poll recopy rebuild-counters clean

# The functions' run-time dependencies come from infra/requirements.lock (hash-checked), the same
# pins the Lambda bundle installs; the dev tools are then installed around them, held to those pins.
$(STAMP): pyproject.toml infra/requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r infra/requirements.lock
	@sed -n 's/^\([A-Za-z0-9][A-Za-z0-9._-]*==[^ ;\\]*\).*/\1/p' infra/requirements.lock > $(VENV)/lambda-pins.txt
	$(BIN)/python -m pip install --quiet -c $(VENV)/lambda-pins.txt -e '.[dev]'
	@touch $(STAMP)

lock: $(STAMP) ## re-resolve the functions' run-time dependencies into infra/requirements.lock (uv, with hashes)
	$(BIN)/python -m infra.bundling lock

run: $(STAMP) ## start the local stack on http://127.0.0.1:$(PORT)
	$(BIN)/python -m eventhub.local --config $(CONFIG) --port $(PORT)

demo: $(STAMP) ## the local stack plus simulated providers: webhooks, polls, copies and aggregates within a minute
	$(BIN)/python -m eventhub.demo.run --config $(CONFIG) --port $(PORT)

browser: ## Debian's chromium for the console's browser tests: installed when missing and root can
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		elif [ "$$CI" = true ]; then \
			echo "CI=true: the browser tests need chromium, and installing it needs root" >&2; exit 1; \
		else \
			echo "*** BROWSER TESTS WILL BE SKIPPED: no chromium, and no root to install it; run 'sudo apt-get install chromium' to enable them ***"; \
		fi; }

test: $(STAMP) browser ## the whole test suite, in parallel (PYTEST_WORKERS, default 4)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-future: $(STAMP) browser ## the date-sensitive tests with the clock moved a year ahead
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m date_sensitive --clock-shift-days 365 $(PYTEST_ARGS)

test-fast: $(STAMP) ## unit tests only: no servers, no synthesis, no browser (seconds)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

STACK_CONFIG_GIVEN = $(or $(STACK_CONFIG),$(wildcard config/aws.json))
NO_STACK_CONFIG = write config/aws.json from config/aws.example.json (README: Deploy) or pass STACK_CONFIG=path

synth: $(STAMP) ## write the CloudFormation template to cdk.out/ (STACK_CONFIG, default config/aws.json)
	CDK_OUTDIR=cdk.out EVENTHUB_STACK_CONFIG=$(or $(STACK_CONFIG_GIVEN),$(error $(NO_STACK_CONFIG))) $(BIN)/python infra/app.py

cdk-app: $(STAMP) ## what cdk.json runs: the CDK app in the project's virtualenv (created if missing)
	@$(BIN)/python infra/app.py

deploy: $(STAMP) ## cdk deploy with the pinned CLI, then apply the config to the registry (AWS credentials; STACK_CONFIG; CDK_FLAGS)
	@test -x node_modules/.bin/cdk || npm ci --no-audit --no-fund
	@node -e 'process.exit(+process.versions.node.split(".")[0] < 22 ? 1 : 0)' || \
		echo "warning: Node.js $$(node --version) is past end of life for aws-cdk-lib; use Node 22 or newer" >&2
	node_modules/.bin/cdk deploy $(CDK_FLAGS) --outputs-file cdk-outputs.json -c config=$(or $(STACK_CONFIG_GIVEN),$(error $(NO_STACK_CONFIG)))
	$(BIN)/eventhub --stack-outputs cdk-outputs.json config apply $(STACK_CONFIG_GIVEN)

send: $(STAMP) ## sign a sample with the current time and post it: make send SAMPLE=events/... CONNECTION=id
	$(BIN)/python -m eventhub.local.send --config $(CONFIG) --port $(PORT) --sample $(SAMPLE) --connection $(CONNECTION)

poll: $(STAMP) ## run one poll of a connection now and print its summary: make poll CONNECTION=vai-pull
	$(BIN)/python -m eventhub.local.poll --config $(CONFIG) --port $(PORT) --connection $(CONNECTION)

recopy: $(STAMP) ## copy an event's failed, expired or refused artifacts again: make recopy EVENT=id
	$(BIN)/python -m eventhub.local.recopy --port $(PORT) --event "$(EVENT)"

rebuild-counters: $(STAMP) ## recompute the aggregate counters from the stored events (TENANT=id for one)
	$(BIN)/python -m eventhub.local.rebuild_counters --port $(PORT) $(if $(TENANT),--tenant "$(TENANT)")

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .hypothesis

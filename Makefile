# touchline developer entry points. `make run` and `make test` are the two quick-start commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
DEMO   ?=

.PHONY: run test lint bench venv clean schemas docs browser

$(STAMP): pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# Development tokens for `make run` only (department, `<department>-manager` or role = token; docs/security.md);
# set TOUCHLINE_BOOTSTRAP_TOKENS to override. TOUCHLINE_ENV=production refuses them.
DEV_TOKENS := frontdesk=dev-frontdesk-token,hotline=dev-hotline-token,web=dev-web-token,repair=dev-repair-token,$\
sales=dev-sales-token,loan=dev-loan-token,card_centre=dev-card_centre-token,$\
approval_office=dev-approval_office-token,hotline-manager=dev-hotline-manager-token,$\
card_centre-manager=dev-card_centre-manager-token,approval_office-manager=dev-approval_office-manager-token,$\
ops=dev-ops-token,auditor=dev-auditor-token,admin=dev-admin-token

## Start the whole backbone on the embedded default (SQLite + local broker); DEMO=1 loads the seed stories.
run: $(STAMP)
	TOUCHLINE_BOOTSTRAP_TOKENS="$${TOUCHLINE_BOOTSTRAP_TOKENS:-$(DEV_TOKENS)}" \
	  $(BIN)/touchline run --port $(PORT) $(if $(DEMO),--demo,)

## The whole test suite (under CI=true, Postgres, the broker and Chromium are required, never skipped).
test: $(STAMP) lint browser
	$(BIN)/python -m pytest

## Debian's Chromium and its driver for the console's browser tests, installed when missing (as root).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { apt-get install -y -q chromium chromium-driver fonts-wqy-microhei || \
	      { apt-get update -q && apt-get install -y -q chromium chromium-driver fonts-wqy-microhei; }; }; } || \
	  echo "Chromium missing: apt-get install chromium chromium-driver (browser tests skip, or fail under CI=true)"

lint: $(STAMP)
	$(BIN)/ruff check contracts domain projections services tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

## Throughput and lag benchmarks (figures, not pass/fail; bench.lag publishes for 5 minutes).
bench: $(STAMP)
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.rebuild
	$(BIN)/python -m bench.peers
	$(BIN)/python -m bench.lag

## Regenerate the event catalogue and JSON Schemas from the contracts, and the permission matrix in docs/security.md.
docs: $(STAMP)
	$(BIN)/touchline contracts catalogue docs/events.md
	$(BIN)/python -m services.entrypoints.security_doc docs/security.md

clean:
	rm -rf $(VENV) .touchline .tools .pytest_cache

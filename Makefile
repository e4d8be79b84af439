# Systematics and Statistics lesson
#   make book   create .venv, install everything, build the site into _build/html
#   make test   same install, then ruff and mypy on the package (make lint), unit tests + every
#               notebook executed once (in parallel), then
#               the strict book build + the built site checked in headless Chromium (tests/test_site.py)
#   make lock   rewrite requirements.lock from pyproject.toml (what everything above installs)
SHELL := /bin/bash
# The newest Python 3.11 or later on the PATH (python3.13, python3.12, python3.11, then python3);
# `make PYTHON=/path/to/python3.X ...` chooses another.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { echo $$p; break; }; done)
# Python caches compiled modules (__pycache__, git-ignored) so that the many kernels and test
# processes compile each module once, not at every import, even where the shell asks otherwise.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going
# uv installs the lock (much faster than pip) and writes it (`make lock`).
UV_VERSION := 0.13.9
UV := $(BIN)/uv --quiet
LOCK := requirements.lock

.PHONY: all install which-python lock lint book test test-timing site-check browser data bench serve mathjax axe presenter clean

all: book

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: no Python 3.11 or newer found (tried python3.13, \
	python3.12, python3.11, python3). Install one (Debian/Ubuntu: sudo apt install python3-venv) \
	or run 'make PYTHON=/path/to/python3.X ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# Exactly the locked set (uv pip sync also removes anything else), then the helper package itself.
# Reinstalls when the lock or the declaration changes.
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/uv
	$(UV) pip sync --python $(BIN)/python $(LOCK)
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# The interpreter a new .venv would be made with.
which-python:
	@echo $(PYTHON)

# Write requirements.lock from pyproject.toml: every package of the tree pinned, one resolution
# for Python 3.11-3.13 on every platform (markers where they differ). Versions already in the lock
# are kept where the declaration allows; `make lock UPGRADE=1` moves everything to the newest.
lock: | $(BIN)/uv
	$(UV) pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
	  $(if $(UPGRADE),--upgrade) --output-file $(LOCK)
	@echo "Wrote $(LOCK); run 'make test' before committing it."

# The book renders cached notebook outputs (see _config.yml). Cached outputs are dropped when what
# the notebooks read besides their own code changes: the helper package, the data, the lock.
CACHE := _build/.jupyter_cache
NB_INPUTS := $(wildcard code/statlesson/*.py data/* episodes/*.yml) $(LOCK)
$(CACHE)/.inputs: $(NB_INPUTS)
	rm -rf $(CACHE)
	mkdir -p $(CACHE) && touch $@

book: install $(CACHE)/.inputs
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "Site built: _build/html/index.html"

# The helper package's lint, format and type checks (configured in pyproject.toml): ruff and mypy,
# pinned in the lock. `make test` runs them first; a finding fails it.
lint: install
	$(BIN)/ruff check code/statlesson
	$(BIN)/ruff format --check code/statlesson
	$(BIN)/mypy

# Two steps. First the unit tests and every notebook, each executed once (tests/test_notebooks.py),
# on both cores with pytest-xdist (--dist loadfile: a test file runs whole on one worker, except that
# each notebook is its own unit; they run in no fixed order, which also shows that they do not
# depend on each other). Then, in order on one worker, the strict book build from the notebooks
# just executed and the browser check of the built site (the tests marked `book`), while the other
# worker runs the presenter copies (tests/test_presenter_copies.py, marked `presenter`).
# Each of the two workers (and each notebook kernel it starts) uses one BLAS thread: with
# OpenBLAS's default of one thread per core, two workers on two cores fight over them and the
# fits run several times slower.
test: install browser $(CACHE)/.inputs lint
	OPENBLAS_NUM_THREADS=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 \
	  --dist loadfile --no-loadscope-reorder -m "not book and not presenter"
	OPENBLAS_NUM_THREADS=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 \
	  --dist loadfile \
	  --no-loadscope-reorder -m "book or presenter" tests/test_book.py tests/test_site.py \
	  tests/test_presenter_copies.py

# Build the site, then check every page in headless Chromium (math, images, console, local links,
# the WCAG A and AA rules of axe-core); screenshots (first screen and whole page) go to
# _build/screenshots/. `make test` runs the same check after its own build, with first-screen
# screenshots only.
site-check: book browser
	STATLESSON_SCREENSHOTS=full PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest tests/test_site.py

# Headless Chromium and its driver for the browser check (Debian packages chromium, chromium-driver).
# Installed with apt-get when missing and possible (root or password-less sudo); otherwise the
# browser check is skipped with a message saying what to install.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else sudo=none; fi; \
	if [ "$$sudo" = none ] || ! command -v apt-get >/dev/null; then \
	  echo "warning: $(CHROMIUM) or $(CHROMEDRIVER) is missing and cannot be installed here (needs apt-get"; \
	  echo "         as root); the browser check will be skipped. Install the Debian packages chromium and"; \
	  echo "         chromium-driver to run it."; exit 0; fi; \
	echo "Installing chromium and chromium-driver for the browser check (apt-get)"; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver >/dev/null \
	|| echo "warning: installing chromium failed; the browser check will be skipped"

data: install
	$(BIN)/python -m statlesson.toy.data --out data

# Benchmarks (tests/bench.py): histogram filling vs. a bare read, and every notebook from a cold
# kernel with its budgets. Options, e.g.: make bench BENCH_ARGS="--only notebooks --strict"
BENCH_ARGS ?=
bench: install
	$(BIN)/python tests/bench.py $(BENCH_ARGS)

# `make test` on a fresh clone of the committed state (new .venv, install included), timed against
# its budget: 6 minutes on 2 cores.
TEST_BUDGET_S := 360
test-timing:
	@tmp=$$(mktemp -d) && git clone -q . $$tmp/lesson && cd $$tmp/lesson && start=$$(date +%s) && \
	{ $(MAKE) --no-print-directory test > $$tmp/log 2>&1; status=$$?; } ; \
	took=$$(( $$(date +%s) - start )); grep -E "passed|failed|error" $$tmp/log | tail -n 4; \
	echo "fresh-clone make test: $$took s (budget $(TEST_BUDGET_S) s), exit status $$status"; \
	rm -rf $$tmp; [ $$status -eq 0 ] || exit $$status; \
	[ $$took -le $(TEST_BUDGET_S) ] || { echo "OVER the budget"; exit 1; }

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000 --bind 127.0.0.1

# Refresh the vendored MathJax (offline math) from the npm package.
MATHJAX_VERSION ?= 3.2.2
mathjax:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-*.tgz && cd - >/dev/null && \
	rm -rf _mathjax/mathjax && mkdir -p _mathjax/mathjax/output/chtml/fonts _mathjax/mathjax/input/tex && \
	cp $$tmp/package/es5/tex-mml-chtml.js $$tmp/package/LICENSE _mathjax/mathjax/ && \
	cp -r $$tmp/package/es5/output/chtml/fonts/woff-v2 _mathjax/mathjax/output/chtml/fonts/ && \
	cp -r $$tmp/package/es5/input/tex/extensions _mathjax/mathjax/input/tex/ && rm -rf $$tmp && \
	echo "MathJax $(MATHJAX_VERSION) vendored into _mathjax/mathjax"

# Refresh the vendored axe-core (the accessibility rules that tests/test_site.py runs on every page)
# from the npm package; then update its entry (version, checksum) in tests/vendor/README.md.
AXE_VERSION ?= 4.14.1
AXE_DIR := tests/vendor/axe-core
axe:
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && \
	  tar xzf axe-core-*.tgz) && rm -rf $(AXE_DIR) && mkdir -p $(AXE_DIR) && \
	cp $$tmp/package/{axe.min.js,LICENSE,LICENSE-3RD-PARTY.txt} $(AXE_DIR)/ && rm -rf $$tmp && \
	echo "axe-core $(AXE_VERSION) vendored into $(AXE_DIR)" && sha256sum $(AXE_DIR)/axe.min.js

# Presenter copies of the notebooks for live teaching: no "going further" cells (tag `optional`),
# no solutions, no outputs (tests/lessonplan.py). Run them from _build/presenter/, where they write
# their outputs into _build/presenter/_outputs/.
presenter: install
	$(BIN)/python tests/lessonplan.py presenter _build/presenter

clean:
	rm -rf _build episodes/_outputs .pytest_cache

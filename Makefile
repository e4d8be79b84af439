# Systematics and Statistics lesson
#   make book   create .venv, install everything, build the site into _build/html
#   make test   same install, then unit tests + nbval over every notebook (in parallel), then the
#               strict book build + the built site checked in headless Chromium (tests/test_site.py)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going

.PHONY: all install book test site-check browser data bench serve mathjax clean

all: book

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency declaration changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[book,test]"
	@touch $(STAMP)

install: $(STAMP)

book: install
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "Site built: _build/html/index.html"

# Two steps. First the unit tests and nbval over every notebook, on both cores with pytest-xdist
# (--dist loadfile: each test file or notebook runs whole on one worker, in no fixed order, which
# also shows that the notebooks do not depend on each other). Then, in order, the strict book build
# and the browser check of the built site (the tests marked `book`).
test: install browser
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 --dist loadfile -m "not book"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m book

# Build the site, then check every page in headless Chromium (math, images, console, local links);
# screenshots go to _build/screenshots/. `make test` runs the same check after its own build.
site-check: book browser
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest tests/test_site.py

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
	$(BIN)/python -m statlesson.toydata --out data

# Benchmarks (tests/bench.py): histogram filling vs. a bare read, and every notebook from a cold
# kernel with its budgets. Options, e.g.: make bench BENCH_ARGS="--only notebooks --strict"
BENCH_ARGS ?=
bench: install
	$(BIN)/python tests/bench.py $(BENCH_ARGS)

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

clean:
	rm -rf _build episodes/_outputs .pytest_cache

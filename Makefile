# Every install step lives here so a clean clone needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ../shared/data

.PHONY: demo test lint bench clean install

$(STAMP): pyproject.toml examples/zoo-mobilenet/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	# the example third-party plugin, a separate distribution the tests find through its entry point
	$(BIN)/python -m pip install -q --no-deps -e examples/zoo-mobilenet
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/zoo list
	@if [ -f $(DATA)/yolov3-tiny.weights ]; then \
	  $(BIN)/zoo import yolov3-tiny $(DATA)/yolov3-tiny.weights && \
	  $(BIN)/zoo predict yolov3-tiny $(DATA)/images/grace_hopper.jpg $(DATA)/images/astronaut.png --conf 0.25 --out demo-out; \
	else echo "($(DATA) not found: skipping the real yolov3-tiny prediction)"; fi
	$(BIN)/zoo bench yolov3 yolov3-tiny --batch-size 1 --iters 5 --warmup 2

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q tests

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python benchmarks/list_cold.py
	$(BIN)/python benchmarks/load_vs_torchvision.py

clean:
	rm -rf $(VENV) build *.egg-info demo-out

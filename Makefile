# Hearth — the two commands a person needs are `make run` and `make test`.
# GPU=cuda builds llama-cpp-python with CUDA; Metal is automatic on Apple Silicon.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GPU ?=
LLAMA_VERSION := 0.3.36
export PIP_DISABLE_PIP_VERSION_CHECK := 1

STAMP := $(VENV)/.installed$(if $(GPU),-$(GPU),)

.PHONY: run test lint bench bench-anchor bench-publish package package-test deb tarball clean venv screenshots

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Hearth needs Python 3.11 or newer (found %s). Set PYTHON=python3.11." % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@bash .ci/system-deps.sh
	$(PY) -m pip install -q --upgrade pip wheel
ifeq ($(GPU),cuda)
	CMAKE_ARGS="-DGGML_CUDA=on" $(PY) -m pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==$(LLAMA_VERSION)
else ifeq ($(GPU),metal)
	CMAKE_ARGS="-DGGML_METAL=on" $(PY) -m pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==$(LLAMA_VERSION)
else ifneq ($(GPU),)
	$(error GPU must be empty, cuda or metal, not '$(GPU)')
endif
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

run: $(STAMP)
	$(VENV)/bin/hearth

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# `make bench`: every figure in one run (bench/README.md), on the tiny model and on a 2-layer
# gpt-oss-20b-shaped model beside llama.cpp's own llama-bench (built once by `make bench-anchor`).
# BENCH_MODEL= (empty) skips the 20b-shaped figures; BENCH_MODEL=PATH measures another GGUF.
# `make bench-publish` then puts the run's table into README.md and bench/README.md.
SHAPED_MODEL := bench/.anchor/gpt-oss-20b-shaped-2l.gguf
BENCH_MODEL ?= $(SHAPED_MODEL)

bench: $(STAMP) $(if $(filter $(SHAPED_MODEL),$(BENCH_MODEL)),bench-anchor)
	QT_QPA_PLATFORM=offscreen $(PY) -m bench $(if $(BENCH_MODEL),--model $(BENCH_MODEL)) $(ARGS)

bench-anchor: $(STAMP)
	bash bench/anchor.sh $(PY)

bench-publish: $(STAMP)
	$(PY) -m bench publish

# The README's screenshots: the real app under Xvfb (needs xvfb, xdotool, imagemagick).
screenshots: $(STAMP)
	$(PY) tools/screenshots.py
	$(PY) tools/shot_tools.py
	$(PY) tools/shot_documents.py
	$(PY) tools/shot_window.py
	$(PY) tools/shot_remote.py

# Bundles and installers (packaging/README.md). The bundle takes whichever llama.cpp build the
# venv has: `make package GPU=cuda` bundles the CUDA build.
PACKAGE_STAMP := $(VENV)/.installed-package$(if $(GPU),-$(GPU),)

$(PACKAGE_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,package]'
	@touch $@

package: $(PACKAGE_STAMP)
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build packaging/hearth.spec
	@du -sh dist/hearth

deb: package
	bash installer/linux/build-deb.sh

tarball: package
	bash installer/linux/make-tarball.sh

# Builds the bundle in a temporary folder and runs it: --version, a chat through the frozen
# engine host, the GUI offscreen, the .deb unpacked. About a minute and a half on two cores.
package-test: $(PACKAGE_STAMP)
	HEARTH_PACKAGE_TEST=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests/packaging

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache

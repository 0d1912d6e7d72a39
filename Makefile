# Two entry points (README, "Set-up"): `make run` and `make test`. Both create .venv if missing.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test screenshots chromium benchmarks peers

# Until a first script run, Streamlit serves the pages/ folder as a legacy multipage app, and a
# first visit straight to a page's address (/training) shows "Page not found". One warm-up run,
# started as soon as the server answers, ends that and fills the caches (the built-in cohort).
define WARM_UP
import signal, time, urllib.request
signal.signal(signal.SIGINT, signal.SIG_DFL)   # Ctrl-C stops the server: end quietly with it
base = "http://127.0.0.1:$(PORT)/_stcore/"
for _ in range(240):
    try:
        urllib.request.urlopen(base + "health", timeout=2)
        break
    except OSError:
        time.sleep(0.5)
try:
    urllib.request.urlopen(base + "script-health-check", timeout=600)
    print("  Health Gym Studio is ready (built-in cohort loaded): http://127.0.0.1:$(PORT)", flush=True)
except OSError:
    pass   # the page itself shows whatever went wrong
endef
export WARM_UP

run: $(VENV)/.runtime-installed
	$(PY) -c "$$WARM_UP" & \
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true \
		--server.scriptHealthCheckEnabled true

# Every test, spread over the CPU cores by pytest-xdist (at most PYTEST_MAX_WORKERS workers): the browser
# tests stay together in one worker, sharing one server and browser (tests/conftest.py), while the
# others take the rest. `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= auto
PYTEST_MAX_WORKERS ?= 4
test: $(VENV)/.dev-installed chromium
	$(PY) -m pytest -n $(PYTEST_WORKERS) --maxprocesses $(PYTEST_MAX_WORKERS)

# The README's screenshots (docs/screenshots/), taken by the browser journey; `make test` writes them
# to a temporary folder instead, so a clone's tracked images change only when asked.
screenshots: $(VENV)/.dev-installed chromium
	HGYM_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest tests/e2e/test_journey.py

# Prints figures; not part of `make test` (timing belongs in benchmarks, not in tests).
benchmarks: $(VENV)/.dev-installed
	for script in $(filter-out benchmarks/quality.py,$(wildcard benchmarks/*.py)); do $(PY) $$script || exit 1; done

# The quality benchmark's two peers (SDV PAR, gretel DGAN), each in its own venv under
# benchmarks/peers/.venvs (benchmarks/peers/README.md). Not needed by `make run` or `make test`.
peers:
	bash benchmarks/peers/setup.sh

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# Browser tests drive Debian's chromium; Playwright cannot download browsers here. The emoji
# font draws the dashboard's status icons in the screenshots (docs/screenshots/).
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
chromium:
	@(test -x /usr/bin/chromium && test -f $(EMOJI_FONT)) || \
		($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium fonts-noto-color-emoji)

# The quality benchmark on real tables (docs/benchmarks.md): the project next to the
# two peers, which need their own venvs first (`make peers`). Long (PAR trains its default 128
# epochs on every table), so not part of `make benchmarks`. Extra flags:
#   make quality QUALITY_ARGS="--datasets quinidine --threads 2"
.PHONY: quality
quality: $(VENV)/.dev-installed
	$(PY) benchmarks/quality.py $(QUALITY_ARGS)

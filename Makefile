# make demo: set up, then the main job on the embedded dataset. make test: set up, then every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install lint lock demo test results bench anomaly anomaly-transfer tracking gpu-check serve bench-stream clean

install: $(STAMP)

# torch is pinned here only (pyproject keeps ranges): these wheels are the ones this platform serves from disk.
# constraints.txt holds every version the suite last passed with (`make lock` writes it anew).
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -c constraints.txt -e '.[test,serve]'
	touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lock: install
	$(PY) -m pip freeze --all --exclude-editable > constraints.txt

demo: install
	$(PY) -m videovision demo

test: install
	$(PY) -m pytest -q tests

# The label-efficiency tables (README), one per set: moving digits about an hour on 2 idle CPU cores, the held-out
# real-media sets (64 and 48 px) several times that; resumes from runs/results/<set>/cells. SETS=digits for one.
SETS ?= digits footage photos
results: install
	$(PY) -m videovision results --sets $(SETS)

# Data-loader benchmark (README): clips/s against the ffmpeg bound and a PyAV decode-all loader, worker memory.
bench: install
	$(PY) -m videovision bench

# The GPU path in one command (README): mixed precision, DDP on NCCL, pinned transfers, encoder clips/s; a few minutes
# on one GPU. Without CUDA it says so in one line and exits 0.
gpu-check: install
	$(PY) -m videovision gpu-check

# HTTP API + web page on the demo probe checkpoint (trained first if absent): http://127.0.0.1:$(PORT)/
PORT ?= 8000
serve: install
	$(PY) -m videovision serve --port $(PORT) $(SERVE_ARGS)

# Streaming step vs a 16-frame window, eager vs ONNX Runtime, end-to-end frames/s, server load test (README).
bench-stream: install
	$(PY) -m videovision bench-stream

# The anomaly-detection table (README): scorer x encoder frame-level AUROC on anomalous moving digits.
anomaly: install
	$(PY) -m videovision anomaly bench

# The same table over encoders pretrained on the moving-digits set (README): the demo's SimCLR, VCOP and
# SimCLR+VCOP pretrainings (runs/demo/; a few minutes each on 2 idle cores), then the bench on their checkpoints
# (about 10 min).
anomaly-transfer: install
	$(PY) -m videovision fit --config experiments/demo/pretrain_simclr.yaml
	$(PY) -m videovision fit --config experiments/demo/pretrain.yaml
	$(PY) -m videovision fit --config experiments/demo/pretrain_simclr_vcop.yaml
	$(PY) -m videovision anomaly bench --run-dir runs/anomaly_transfer \
		--checkpoint simclr=runs/demo/pretrain_simclr/checkpoints/last.ckpt \
		--checkpoint vcop=runs/demo/pretrain/checkpoints/last.ckpt \
		--checkpoint simclr_vcop=runs/demo/pretrain_simclr_vcop/checkpoints/last.ckpt

# Tracking table (README): random init, SimCLR, VCOP x DAVIS J&F, OTB AUC/precision, MOT MOTA/IDF1/HOTA, with the
# copy-first-frame and IoU-only baselines, on the embedded benchmark; resumes from runs/tracking_bench checkpoints.
tracking: install
	$(PY) -m videovision tracking-bench

clean:
	rm -rf runs lightning_logs wandb .pytest_cache

"""Shared test set-up: CPU only, one thread, so tests are fast and deterministic on 2 cores."""

import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")

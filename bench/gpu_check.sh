#!/usr/bin/env bash
# GPU readiness in one call (< 5 minutes on one GPU): the `golf` preset compiled in bf16
# (compile time, ms/step, tokens/s, Muon ms/step, peak memory), `torchrun --nproc_per_node=1
# -m model`, three configs compiled in one process (graphs and peak memory per run), and a
# 2-variant `--base tiny` sweep on one GPU worker; one summary at the end.
#
#   bench/gpu_check.sh                       # on a GPU box
#   GOLF_GPU_CHECK_CPU=1 bench/gpu_check.sh  # smoke test of the script on a CPU (tiny shapes)
#
# PYTHON picks the interpreter (default: python); extra arguments go to bench/gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" bench/gpu_check.py "$@"

#!/bin/bash
# The GPU measurements of docs/benchmarks.md, on a CUDA machine with no network.
# Needs the ignored folder .gpu/ made by the GPU recipe's prepare.sh (a llama-cpp-python source
# tree and its build scripts) plus .gpu/wheels/diskcache-*.whl (llama-cpp-python imports it).
#   bash benchmarks/gpu_run.sh build    # CUDA build of llama.cpp + random-weight 8B and 1.5B Q4_0
#   bash benchmarks/gpu_run.sh measure  # hardware report, offload reports, app vs llama-bench
set -euo pipefail
W=/root/w; M=/root/m; BIN=$W/src/vendor/llama.cpp/build/bin
VOCAB=$W/src/vendor/llama.cpp/models/ggml-vocab-llama-bpe.gguf
export PYTHONPATH=$W/src:$W/src/vendor/llama.cpp/gguf-py:$(ls "$PWD"/.gpu/wheels/*.whl | tr '\n' ':')
export LLAMA_CPP_LIB_PATH=$BIN
case "${1:-}" in
build)
  setsid bash .gpu/build.sh > /tmp/build.out 2>&1 < /dev/null &
  while [ ! -f "$VOCAB" ]; do sleep 2; done; sleep 2
  mkdir -p $M
  python3 .gpu/mkmodel.py "$VOCAB" $M/r8b.gguf 8b &
  python3 .gpu/mkmodel.py "$VOCAB" $M/r1b.gguf 1b
  wait
  bash .gpu/wait.sh 540
  ls -la $M "$BIN" | head -30 ;;
measure)
  nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
  python3 - <<'PY'
import sys, types
from pathlib import Path
sys.path.insert(0, "benchmarks")
from gpu_generation import load_model_class
LlamaCppModel = load_model_class()
from desktop_app.core.models.engine_check import EngineConfig
from desktop_app.core.models.llama_runtime import load_llama
from desktop_app.core.models.hardware import detect_hardware
from desktop_app.core.models.gguf_file import read_gguf
from desktop_app.core.models.model_manager import file_placement
load_llama()  # the build's own backends, before asking what it offloads (no probe on a bare host)
hw = detect_hardware()
print("hardware:", hw.describe())
info = read_gguf(Path("/root/m/r8b.gguf"))
print("header:", info.as_dict())
print("plan 8k context:", file_placement(info, 8192, hw).describe())
for layers in (-1, 20, 0):
    m = LlamaCppModel(Path("/root/m/r8b.gguf"), 4096, layers, engine=EngineConfig())
    m.warm_up()
    print(f"gpu_layers={layers}: {m.placement}")
    m.close()
PY
  python3 benchmarks/gpu_generation.py $M/r8b.gguf $M/r1b.gguf --llama-bench $BIN/llama-bench ;;
*) echo "usage: gpu_run.sh build|measure"; exit 2 ;;
esac

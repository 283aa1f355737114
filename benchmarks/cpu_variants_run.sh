#!/bin/bash
# The CPU-variant measurements of docs/benchmarks.md on another machine with no network (an
# Intel Xeon with AMX, say): the portable and a native build of the same llama.cpp, then
# benchmarks/cpu_variants.py on a random-weight Llama-3-vocabulary model (Q4_0, which AMX repacks).
# Needs the ignored folder .gpu/ from the GPU recipe's prepare.sh (llama-cpp-python's source).
#   bash benchmarks/cpu_variants_run.sh [MODEL_SIZE=1b] [REPS=3]
set -euo pipefail
W=/root/cv; M=/root/m; size=${1:-1b}; reps=${2:-3}
mkdir -p $W $M
[ -d $W/src ] || { mkdir $W/src && tar xzf .gpu/llama-src.tar.gz -C $W/src --strip-components=1; }
LL=$W/src/vendor/llama.cpp
lscpu | grep -E "Model name|^CPU\(s\)" ; grep -o 'amx[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
common="-DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
  -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_TYPE=Release"
# The portable build, with the options packaging/bootstrap.py gives llama-cpp-python.
cmake -S $LL -B $W/portable -G Ninja $common -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON \
  -DGGML_CPU_ALL_VARIANTS=ON > $W/portable.log 2>&1
cmake -S $LL -B $W/native -G Ninja $common -DGGML_NATIVE=ON > $W/native.log 2>&1
( cmake --build $W/portable --target llama -j"$(nproc)" >> $W/portable.log 2>&1 ) &
cmake --build $W/native --target llama -j"$(nproc)" >> $W/native.log 2>&1
wait
ls $W/portable/bin | tr '\n' ' '; echo
export PYTHONPATH=$W/src:$LL/gguf-py:$(ls "$PWD"/.gpu/wheels/*.whl 2>/dev/null | tr '\n' ':')
[ -f $M/r$size.gguf ] || python3 .gpu/mkmodel.py $LL/models/ggml-vocab-llama-bpe.gguf $M/r$size.gguf $size
LLAMA_CPP_LIB_PATH=$W/portable/bin python3 benchmarks/cpu_variants.py $M/r$size.gguf \
  --native-lib $W/native/bin --reps "$reps" --threads "$(nproc)"

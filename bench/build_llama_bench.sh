#!/usr/bin/env bash
# Build llama.cpp's `llama-bench` from the exact llama.cpp sources vendored in the
# llama-cpp-python 0.3.36 sdist, with the same CPU flags the Forge wheel was built with
# (GGML_NATIVE=OFF), so `bench/decode_vs_llama_bench.py` compares like with like.
#
# Output: bench/.llama-bench/bin/llama-bench (gitignored). Reused if already built.
# Usage:  bash bench/build_llama_bench.sh        (prints the binary path on the last line)
set -euo pipefail

VERSION="0.3.36"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$HERE/.llama-bench"
BIN="$ROOT/bin/llama-bench"
JOBS="${JOBS:-$(nproc)}"

if [[ -x "$BIN" ]] && "$BIN" --help >/dev/null 2>&1; then
    echo "llama-bench already built: $BIN"
    echo "$BIN"
    exit 0
fi

PY="${PYTHON:-python}"
mkdir -p "$ROOT/sdist" "$ROOT/bin"

SDIST="$(ls "$ROOT"/sdist/llama_cpp_python-"$VERSION".tar.gz 2>/dev/null || true)"
if [[ -z "$SDIST" ]]; then
    echo "Downloading llama-cpp-python==$VERSION sdist ..."
    "$PY" -m pip download --quiet --no-deps --no-binary :all: \
        "llama-cpp-python==$VERSION" -d "$ROOT/sdist"
    SDIST="$ROOT/sdist/llama_cpp_python-$VERSION.tar.gz"
fi

SRC="$ROOT/src/llama_cpp_python-$VERSION"
if [[ ! -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ]]; then
    rm -rf "$ROOT/src"
    mkdir -p "$ROOT/src"
    tar -xzf "$SDIST" -C "$ROOT/src"
fi
LLAMA="$SRC/vendor/llama.cpp"

GEN=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); fi

echo "Configuring llama.cpp (GGML_NATIVE=OFF, LLAMA_CURL=OFF) ..."
cmake -S "$LLAMA" -B "$ROOT/build" "${GEN[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF \
    -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_TOOLS=ON >"$ROOT/cmake-configure.log"

echo "Building llama-bench with $JOBS jobs (a few minutes) ..."
cmake --build "$ROOT/build" --target llama-bench -j "$JOBS" >"$ROOT/cmake-build.log"

cp "$ROOT/build/bin/llama-bench" "$BIN"
echo "Built: $BIN"
echo "$BIN"

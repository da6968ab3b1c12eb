#!/usr/bin/env bash
# Longbow beside llama.cpp (de.kherud:llama from Maven Central) on the same synthetic GGUF files, in one run.
# usage: scripts/bench-vs-llamacpp.sh [--shapes stories110m,llama3.2-1b] [--types q8_0,q4_0] [--threads N]
#                                     [--prompt-tokens 256] [--gen-tokens 32] [--rounds 3] [--dir DIR]
# Files are written once into --dir (default: $TMPDIR/longbow-bench) and reused.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
find_jdk
find_maven
cp="$(bench_classpath)"
exec "$JAVA" "${LONGBOW_JVM_FLAGS[@]}" -Xmx2g -cp "$cp" dev.longbow.bench.LlamaCppBench "$@" \
    2> >(sed -u '/^WARNING: Using incubator modules/d' >&2)

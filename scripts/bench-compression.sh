#!/usr/bin/env bash
# Decode speed of Longbow's compressed formats (W8A16, 2:4 F16, 2:4 + INT8) beside llama.cpp Q8_0 (de.kherud:llama)
# on the same synthetic shapes, in one run.
# usage: scripts/bench-compression.sh [--shapes stories110m,llama3.2-1b] [--threads N] [--gen-tokens 32] [--rounds 2]
#                                     [--dir DIR] [--try-llamacpp-on-compressed 1]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
find_jdk
find_maven
cp="$(bench_classpath)"
exec "$JAVA" "${LONGBOW_JVM_FLAGS[@]}" -Xmx${LONGBOW_HEAP:-6g} -cp "$cp" dev.longbow.bench.CompressionBench "$@" \
    2> >(sed -u '/^WARNING: Using incubator modules/d' >&2)

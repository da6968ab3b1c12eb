#!/usr/bin/env bash
# Tokenizer encoding speed beside SentencePiece (Python), Hugging Face tokenizers (DJL) and llama.cpp, one run.
# usage: scripts/bench-tokenizers.sh [--shared DIR] [--text FILE] [--rounds N] [--python PATH] [--only gpt2,llama3,...]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
find_jdk
find_maven
cd "$LONGBOW_ROOT"
mvn -B -q -DskipTests -pl java/longbow-bench -am package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
BENCH_CP="java/longbow-bench/target/longbow-bench-0.1.0-SNAPSHOT.jar:$(cat java/longbow-bench/target/classpath.txt)"
SHARED_ARGS=()
[ -d "$LONGBOW_ROOT/../shared" ] && SHARED_ARGS=(--shared "$LONGBOW_ROOT/../shared")
exec "$JAVA" "${LONGBOW_JVM_FLAGS[@]}" -cp "$BENCH_CP" dev.longbow.bench.TokenizerBench "${SHARED_ARGS[@]}" "$@"

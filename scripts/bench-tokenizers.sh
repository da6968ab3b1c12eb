#!/usr/bin/env bash
# Tokenizer encoding speed beside SentencePiece (Python), Hugging Face tokenizers (DJL) and llama.cpp, one run.
# usage: scripts/bench-tokenizers.sh [--shared DIR] [--text FILE] [--rounds N] [--python PATH] [--only gpt2,llama3,...]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
find_jdk
find_maven
cp="$(bench_classpath)"
shared=()
[ -d "$LONGBOW_ROOT/../shared" ] && shared=(--shared "$LONGBOW_ROOT/../shared")
exec "$JAVA" "${LONGBOW_JVM_FLAGS[@]}" -cp "$cp" dev.longbow.bench.TokenizerBench "${shared[@]}" "$@" \
    2> >(sed -u '/^WARNING: Using incubator modules/d' >&2)

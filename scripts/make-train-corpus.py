#!/usr/bin/env python3
"""Builds the ~100 MB training corpora for the train-tokenizer timing in docs/PERFORMANCE.md.

usage: scripts/make-train-corpus.py SHARED_DATA_DIR OUT_PREFIX
writes OUT_PREFIX-repeat.txt (the shared texts 24 times: few distinct words, so reading dominates) and
OUT_PREFIX-rot.txt (copy k with ASCII letters rotated by k: 24x the distinct words, so merging is loaded too).
"""
import pathlib
import sys

data, prefix = pathlib.Path(sys.argv[1]), sys.argv[2]
src = ''.join(p.read_text(encoding='utf-8') for p in sorted(data.glob('*.txt')))
with open(prefix + '-repeat.txt', 'w', encoding='utf-8') as out:
    for _ in range(24):
        out.write(src)
with open(prefix + '-rot.txt', 'w', encoding='utf-8') as out:
    for k in range(24):
        table = {base + i: base + (i + k) % 26 for base in (ord('a'), ord('A')) for i in range(26)}
        out.write(src.translate(table))

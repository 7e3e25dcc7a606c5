#!/usr/bin/env python3
"""The heaviest frames of a collapsed profile (inferno-collapse-perf output), as text.

    scripts/bench/hot.py target/flamegraphs/intake-sqlite.folded [FILTER] [N]

Prints each frame's share of all samples: inclusive (the frame or anything it called) and self
(the frame itself). FILTER keeps only frames whose name contains it (e.g. `warden::`).
"""
import collections
import re
import sys

path = sys.argv[1]
wanted = sys.argv[2] if len(sys.argv) > 2 else ""
top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
inclusive, own, total = collections.Counter(), collections.Counter(), 0
for line in open(path):
    stack, _, count = line.rstrip().rpartition(" ")
    count = int(count)
    total += count
    frames = [re.sub(r"::h[0-9a-f]{16}$", "", f) for f in stack.split(";")]
    for frame in set(frames):
        inclusive[frame] += count
    own[frames[-1]] += count
for frame, n in inclusive.most_common():
    if wanted in frame and top > 0:
        top -= 1
        print(f"{100 * n / total:5.1f}% {100 * own[frame] / total:5.1f}%  {frame[:150]}")

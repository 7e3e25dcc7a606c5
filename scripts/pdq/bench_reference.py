#!/usr/bin/env python3
"""PDQ hashing per core with Meta's C++ reference through its Python bindings (pdqhash).

    bench_reference.py [--seconds S] [--processes N] PATH...

PATH is an image file or a folder of them (searched recursively). One process per core, each
hashing the whole set over and over, in two cases:
- buffer: pdqhash.compute on an RGB array prepared beforehand (Pillow-decoded);
- file: Image.open + convert("RGB") + np.asarray + pdqhash.compute.

Prints one tab-separated line per case, as crates/pdq/examples/hash_bench.rs does: implementation,
case, processes, images hashed, ms per image, images per second per core (each process's images
over its own CPU time, all its threads counted, averaged).
"""
import argparse
import multiprocessing
import os
import time

import numpy as np
import pdqhash
from PIL import Image


def collect(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            for d, _, names in sorted(os.walk(path)):
                files.extend(os.path.join(d, n) for n in sorted(names))
        else:
            files.append(path)
    return files


def decode(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def worker(args):
    case, files, seconds, offset = args
    arrays = [decode(f) for f in files] if case == "buffer" else None

    def work(i):
        if case == "buffer":
            pdqhash.compute(arrays[i])
        else:
            pdqhash.compute(decode(files[i]))

    n = len(files)
    for i in range(n):  # warm-up pass, untimed
        work(i)
    wall, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < n or time.perf_counter() - wall < seconds:
        work((done + offset) % n)
        done += 1
    return done, done / (time.process_time() - cpu)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cases", default="buffer,file")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    files = collect(args.paths)
    name = f"pdqhash {pdqhash.__version__} (C++ via Python)"
    with multiprocessing.Pool(args.processes) as pool:
        for case in args.cases.split(","):
            jobs = [(case, files, args.seconds, p) for p in range(args.processes)]
            results = pool.map(worker, jobs)
            done = sum(r[0] for r in results)
            per_core = sum(r[1] for r in results) / len(results)
            print(f"{name}\t{case}\t{args.processes}\t{done}\t{1000 / per_core:.3f}\t{per_core:.1f}", flush=True)


if __name__ == "__main__":
    main()

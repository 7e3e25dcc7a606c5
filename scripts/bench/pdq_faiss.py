#!/usr/bin/env python3
"""FAISS's multi-hash binary index on the bank and queries that examples/index_bench.rs wrote.

    pdq_faiss.py DIR [--queries N] [--max-distance D] [--passes P]

Configured as Meta's Hasher-Matcher-Actioner does for PDQ: IndexBinaryMultiHash(256, 16, 16)
(sixteen tables of sixteen bits) with nflip = D // 16, one thread. FAISS's range_search keeps
distances strictly below the radius, so it is called with D + 1 to return distance <= D, as the
Rust side does. Recall is checked against the brute-force truth.txt. The lookup rate is the best
of P passes over the queries (default 3), as on the Rust side. Prints key=value lines.
"""

import argparse
import time
from pathlib import Path

import faiss
import numpy as np


def memory():
    """Resident and peak resident memory of this process, in bytes."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(rest.split()[0]) * 1024
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--queries", type=int, default=None, help="search only the first N queries")
    parser.add_argument("--max-distance", type=int, default=31)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    d = args.max_distance

    # 32 bytes a hash, in the order of the hex form: FAISS reads bits byte by byte, and the
    # Hamming distance does not depend on which bit is which as long as both sides agree.
    bank = np.fromfile(args.dir / "bank.u8", dtype=np.uint8).reshape(-1, 32)
    queries = np.fromfile(args.dir / "queries.u8", dtype=np.uint8).reshape(-1, 32)
    if args.queries is not None:
        queries = queries[: args.queries]
    queries = np.ascontiguousarray(queries)
    truth = {}
    for line in (args.dir / "truth.txt").read_text().splitlines():
        i, *positions = (int(x) for x in line.split())
        truth[i] = set(positions)

    faiss.omp_set_num_threads(1)
    rss_before, _ = memory()
    started = time.perf_counter()
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = d // 16
    index.add(bank)
    build = time.perf_counter() - started
    rss_after, peak = memory()
    print(
        f"faiss size={len(bank)} nflip={index.nflip} build_s={build:.3f} "
        f"rss_delta_mb={(rss_after - rss_before) / 1e6:.1f} peak_rss_mb={peak / 1e6:.1f}",
        flush=True,
    )

    best = float("inf")
    cpu = time.process_time()
    for _ in range(max(args.passes, 1)):
        started = time.perf_counter()
        lims, distances, labels = index.range_search(queries, d + 1)
        best = min(best, time.perf_counter() - started)
    cpu = time.process_time() - cpu
    assert distances.size == 0 or distances.max() <= d
    print(
        f"faiss size={len(bank)} d={d} queries={len(queries)} "
        f"lookups_per_s={len(queries) / best:.1f} "
        f"lookups_per_cpu_s={len(queries) * max(args.passes, 1) / cpu:.1f} matches={len(labels)}",
        flush=True,
    )

    sample = [i for i in range(len(queries)) if i in truth]
    expected = sum(len(truth[i]) for i in sample)
    returned = exact = 0
    for i in sample:
        got = set(labels[lims[i] : lims[i + 1]].tolist())
        returned += len(got & truth[i])
        exact += got == truth[i]
    recall = returned / expected if expected else 1.0
    print(f"faiss size={len(bank)} recall_sample={len(sample)} recall={recall:.4f} exact_queries={exact}")


if __name__ == "__main__":
    main()

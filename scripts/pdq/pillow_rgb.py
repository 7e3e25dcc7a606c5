#!/usr/bin/env python3
"""Decodes every image under a folder with Pillow and writes its pixels as 8-bit RGB.

    pillow_rgb.py IMAGE_ROOT OUTDIR

For each file (by path relative to IMAGE_ROOT, sorted) the pixels are what
`Image.open(path).convert("RGB")` gives: no Exif rotation, alpha dropped. They go to OUTDIR as raw
row-major RGB bytes, and OUTDIR/index.tsv lists `path, width, height, raw file`. This is how the
reference hashes in the PDQ reference data were computed, so hashing these bytes must reproduce
them exactly.
"""
import os
import sys

from PIL import Image


def main() -> None:
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    paths = sorted(
        os.path.relpath(os.path.join(d, f), root)
        for d, _, files in os.walk(root)
        for f in files
    )
    rows = []
    for rel in paths:
        with Image.open(os.path.join(root, rel)) as im:
            rgb = im.convert("RGB")
        raw = rel.replace(os.sep, "__") + ".rgb"
        with open(os.path.join(out, raw), "wb") as f:
            f.write(rgb.tobytes())
        rows.append(f"{rel}\t{rgb.width}\t{rgb.height}\t{raw}\n")
    with open(os.path.join(out, "index.tsv"), "w") as f:
        f.write("path\twidth\theight\traw\n")
        f.writelines(rows)
    print(f"{len(rows)} images decoded with Pillow {Image.__version__}")


if __name__ == "__main__":
    main()

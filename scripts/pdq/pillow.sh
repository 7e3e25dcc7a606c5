#!/usr/bin/env bash
# Pixels as Pillow 13 decodes them, for the PDQ reference test: runs pillow_rgb.py in its own venv
# (made on first use with a pinned Pillow) on every image under IMAGE_ROOT, writing to OUTDIR.
#   scripts/pdq/pillow.sh OUTDIR [IMAGE_ROOT]
# IMAGE_ROOT defaults to the reference images: $WARDEN_PDQ_REFERENCE/images, or
# crates/pdq/tests/data/pdq/images.
set -euo pipefail
OUT="${1:?usage: pillow.sh OUTDIR [IMAGE_ROOT]}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${2:-${WARDEN_PDQ_REFERENCE:-$HERE/../../crates/pdq/tests/data/pdq}/images}"
VERSION=13.0.0
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/warden-pillow-$VERSION"
if ! "$VENV/bin/python" -c "import PIL, sys; sys.exit(PIL.__version__ != '$VERSION')" 2>/dev/null; then
  echo "installing Pillow $VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pillow==$VERSION"
fi
exec "$VENV/bin/python" "$HERE/pillow_rgb.py" "$ROOT" "$OUT"

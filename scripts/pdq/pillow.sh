#!/usr/bin/env bash
# Pixels as Pillow 13 decodes them, for the PDQ reference test: runs pillow_rgb.py in its own venv
# (made on first use with a pinned Pillow).
#   scripts/pdq/pillow.sh OUTDIR IMAGE_ROOT
set -euo pipefail
OUT="${1:?usage: pillow.sh OUTDIR IMAGE_ROOT}"
ROOT="${2:?usage: pillow.sh OUTDIR IMAGE_ROOT}"
VERSION=13.0.0
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/warden-pillow-$VERSION"
if ! "$VENV/bin/python" -c "import PIL, sys; sys.exit(PIL.__version__ != '$VERSION')" 2>/dev/null; then
  echo "installing Pillow $VERSION into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pillow==$VERSION"
fi
exec "$VENV/bin/python" "$(dirname "$0")/pillow_rgb.py" "$ROOT" "$OUT"

"""Schemathesis hooks for scripts/schemathesis.sh: a policy book (application/toml) is text, sent as
generated."""

import schemathesis

schemathesis.serializer.alias("application/toml", "text/plain")

#!/bin/sh
# End-to-end tests (see e2e.py). Run by 'make check'.
here=$(cd "$(dirname "$0")" && pwd)
export top_srcdir="${top_srcdir:+$(cd "$top_srcdir" && pwd)}"
exec python3 "$here/e2e.py"

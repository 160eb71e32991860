#!/bin/sh
# Limit tests (see limits.py and README.md here). Run by 'make check'.
here=$(cd "$(dirname "$0")" && pwd)
export top_srcdir="${top_srcdir:+$(cd "$top_srcdir" && pwd)}"
exec python3 "$here/limits.py"

#!/bin/sh
# Fails if C sources under src/, dissectors/ or ui/ use a banned function
# (see README "Code style"): unbounded string functions and number parsers
# that cannot report errors.
top=${top_srcdir:-$(dirname "$0")/../..}
banned='strcpy|strcat|sprintf|vsprintf|sscanf|atoi|atol|atoll|strtok|gets'
hits=$(grep -nE "(^|[^_a-z0-9])($banned)[[:space:]]*\(" \
	"$top"/src/*.c "$top"/src/*.h \
	$(ls "$top"/dissectors/*.[ch] "$top"/ui/*.[ch] 2>/dev/null) 2>/dev/null |
	grep -vE '^\S+:[0-9]+:\s*(\*|/\*|//)')
# strtol/strtoul/strtoull must be given an end pointer (not NULL).
hits2=$(grep -nE "strto(l|ul|ll|ull|d)\([^,]+,[[:space:]]*NULL" \
	"$top"/src/*.c $(ls "$top"/dissectors/*.c "$top"/ui/*.c 2>/dev/null) 2>/dev/null)
if [ -n "$hits$hits2" ]; then
	echo "banned functions used:"
	printf '%s\n%s\n' "$hits" "$hits2"
	exit 1
fi
echo "banned-function check: clean"
exit 0

#!/usr/bin/env python3
"""Runs only the terminal UI part of the end-to-end tests
(tests/e2e/tui.py), optionally only some of its tests:

  python3 tests/tui/run_e2e_tui.py [test_brackets test_controls ...]

WSCOPE (default build/wscope) names the binary. Prints one line per case
and 'N passed, M failed'; exits non-zero on any failure."""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import e2e  # noqa: E402
import tui  # noqa: E402


def main():
    only = set(sys.argv[1:]) or None
    if only:
        bad = only - {t.__name__ for t in tui.TESTS}
        if bad:
            print("unknown tests: %s; known: %s" % (" ".join(sorted(bad)), " ".join(t.__name__ for t in tui.TESTS)))
            return 2
    try:
        tui.run(e2e, only)
    finally:
        shutil.rmtree(e2e.TMP, ignore_errors=True)
    passed = sum(1 for r in e2e.results if r[1])
    failed = len(e2e.results) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Keeps docs/tutorial.md's code blocks identical to the scripts in docs/examples/.

In the tutorial, a marker line names the file whose text the next fenced block
holds, and another names the example whose output the next block shows:

    <!-- example: 01-pid1.sh -->
    ```sh
    ...the file, verbatim...
    ```
    <!-- output: 01-pid1.sh -->
    ```
    ...what one run printed...
    ```

    sync-tutorial.py check            every example block equals its file, and
                                      every script here is in the tutorial
    sync-tutorial.py update [OUTDIR]  rewrite the example blocks from the files
                                      (and the output blocks from OUTDIR/NAME.out)
"""

import difflib
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TUTORIAL = os.path.join(HERE, "..", "tutorial.md")
MARKER = re.compile(r"^<!-- (example|output): (\S+) -->$")
# Files of this directory that are not part of the tutorial.
NOT_SHOWN = {"run-all.sh", "sync-tutorial.py"}


def blocks(lines):
    """Yields (kind, name, first, last): the fenced block after each marker,
    as the index range of its body lines."""
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if m:
            if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
                sys.exit(f"tutorial.md:{i + 1}: a marker must be followed by a fenced block")
            fence = lines[i + 1][: len(lines[i + 1]) - len(lines[i + 1].lstrip("`"))]
            end = i + 2
            while end < len(lines) and lines[end] != fence:
                end += 1
            if end == len(lines):
                sys.exit(f"tutorial.md:{i + 2}: unterminated block")
            yield m.group(1), m.group(2), i + 2, end
            i = end
        i += 1


def read(path):
    with open(path) as f:
        return f.read().splitlines()


def check(lines):
    ok = True
    shown = set()
    for kind, name, first, last in blocks(lines):
        if kind != "example":
            continue
        shown.add(name)
        path = os.path.join(HERE, name)
        if not os.path.exists(path):
            print(f"tutorial.md:{first - 1}: {name} does not exist in docs/examples/")
            ok = False
            continue
        want, have = read(path), lines[first:last]
        if want != have:
            ok = False
            print(f"tutorial.md:{first}: the block differs from docs/examples/{name}:")
            sys.stdout.writelines(
                line + "\n" for line in difflib.unified_diff(have, want, "tutorial.md", name, lineterm="")
            )
    for f in sorted(os.listdir(HERE)):
        if f.endswith(".sh") and f not in NOT_SHOWN and f not in shown:
            print(f"docs/examples/{f} is not shown in tutorial.md (add <!-- example: {f} -->)")
            ok = False
    if not ok:
        print("fix: docs/examples/sync-tutorial.py update")
    return ok


def update(lines, outdir):
    out = []
    i = 0
    for kind, name, first, last in blocks(lines):
        out.extend(lines[i:first])
        if kind == "example":
            out.extend(read(os.path.join(HERE, name)))
        elif outdir and os.path.exists(os.path.join(outdir, name + ".out")):
            out.extend(read(os.path.join(outdir, name + ".out")))
        else:
            out.extend(lines[first:last])
        i = last
    out.extend(lines[i:])
    with open(TUTORIAL, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("check", "update"):
        sys.exit(__doc__)
    lines = read(TUTORIAL)
    if sys.argv[1] == "check":
        sys.exit(0 if check(lines) else 1)
    update(lines, sys.argv[2] if len(sys.argv) > 2 else None)


if __name__ == "__main__":
    main()

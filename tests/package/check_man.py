#!/usr/bin/env python3
"""check_man.py CLI_MD MAN_PAGE LEGACYGPU: the man page keeps step with docs/cli.md and the
command table: every option docs/cli.md names, every command and subcommand of its
`legacygpu ...` headings, and every command `legacygpu --help` lists must appear in it."""
import re
import subprocess
import sys


def man_text(path):
    t = open(path, encoding="utf-8").read()
    t = t.replace("\\-", "-")
    t = re.sub(r"\\f[BIRP]", "", t)
    return t


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    doc = open(argv[1], encoding="utf-8").read()
    man = man_text(argv[2])
    missing = []
    for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", doc))):
        if not re.search(re.escape(opt) + r"(?![a-z0-9-])", man):
            missing.append(f"option {opt}")
    words = set()
    for head in re.findall(r"^#+ .*`legacygpu ([^`]*)`", doc, re.M):
        for part in re.split(r"\s+", head):
            for w in re.split(r"[|/]", part):
                if re.fullmatch(r"[a-z][a-z-]*", w):
                    words.add(w)
    out = subprocess.run([argv[3], "--help"], capture_output=True, text=True).stdout
    words |= set(re.findall(r"^  ([a-z][a-z-]*) ", out, re.M))
    for w in sorted(words):
        if not re.search(r"(?<![\w-])" + re.escape(w) + r"(?![\w-])", man):
            missing.append(f"command {w}")
    if missing:
        print(f"FAIL: {argv[2]} lacks what {argv[1]} or `legacygpu --help` lists:\n  " + "\n  ".join(missing),
              file=sys.stderr)
        return 1
    print(f"PASS: {len(words)} commands and every option of {argv[1]} are in {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env bash
# Fails when the docs or the code's comments name a repository file that does
# not exist, or when any tracked file cites the design document the repository
# does not have. Read: README.md, docs/*.md, frontend/README.md, the comments of
# src/**/*.rs and build.rs, scripts/* and .ci/run. A path counts when it starts
# with src/, docs/, scripts/, frontend/, tests/, bench/ or deploy/; globs and
# placeholders (`*`, `{`, `<`, `…`) are skipped, and so are paths git ignores
# (build output such as frontend/dist). frontend/README.md's paths may also be
# relative to frontend/.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - <<'PY'
import pathlib, re, subprocess, sys

tracked = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.decode().split("\0")
tracked = [t for t in tracked if t]
tracked_set = set(tracked)
dirs = {str(parent) for t in tracked for parent in pathlib.PurePosixPath(t).parents}

def exists(path):
    bare = path.rstrip("/")
    if bare in tracked_set or bare in dirs or pathlib.Path(bare).exists():
        return True
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", bare])
    return ignored.returncode == 0

sources = ["README.md", "frontend/README.md", "build.rs", ".ci/run"]
sources += sorted(t for t in tracked if re.fullmatch(r"docs/[^/]+\.md", t))
sources += sorted(t for t in tracked if t.startswith("scripts/"))
sources += sorted(t for t in tracked if t.startswith("src/") and t.endswith(".rs"))

PATH = re.compile(r"(?<![\w./@~-])((?:src|docs|scripts|frontend|tests|bench|deploy)/[\w.@/-]*[\w/])")
problems = []
for source in sources:
    if not pathlib.Path(source).exists():
        continue
    for number, line in enumerate(pathlib.Path(source).read_text(encoding="utf-8").splitlines(), 1):
        text = line
        if source.endswith(".rs"):
            at = line.find("//")
            if at < 0:
                continue
            text = line[at:]
        for match in PATH.finditer(text):
            path = match.group(1)
            following = text[match.end():match.end() + 1]
            if following in ("*", "{", "<", "…") or any(c in path for c in "*{<…"):
                continue
            if path.endswith("."):
                path = path.rstrip(".")
            # frontend/README.md speaks from inside frontend/.
            inside = source.startswith("frontend/") and exists("frontend/" + path)
            if not exists(path) and not inside:
                problems.append(f"{source}:{number}: names {path}, which does not exist")

design = "DESIGN" + ".md"
grep = subprocess.run(["git", "grep", "-n", "-F", design], capture_output=True, text=True)
for hit in grep.stdout.splitlines():
    problems.append(f"{hit.split(':', 2)[0]}:{hit.split(':', 2)[1]}: cites {design}, which the repository does not have")

for problem in problems:
    print(problem)
if problems:
    print(f"check-doc-paths: {len(problems)} problem(s)", file=sys.stderr)
    sys.exit(1)
print(f"check-doc-paths: {len(sources)} files, every named path exists")
PY

"""The top allocation sites at the heap's peak, per held request.

    heaptrack_print -f heaptrack.X.zst -F peak.txt --flamegraph-cost-type peak
    python3 bench/heap_sites.py peak.txt 4000

Each stack (root first, as heaptrack writes it) is named by its innermost frames
that are not allocator plumbing; costs are bytes live at the peak.
"""
import collections
import re
import sys

PLUMBING = re.compile(
    r"(alloc|Alloc|raw_vec|reserve|grow|with_capacity|new_uninit|box_new|^new<|^new$|^from|clone|Clone|"
    r"into_vec|to_vec|push|extend|insert|spec_|do_reserve|try_|__rust|__rdl|realloc|malloc|calloc|collect|"
    r"from_iter|to_owned|to_string|vec::|<unresolved|operator new|^\?\?|^copy_from)",
    re.I,
)


def main() -> None:
    path, requests = sys.argv[1], int(sys.argv[2])
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    sites = collections.Counter()
    total = 0
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip()
        if not line:
            continue
        stack, cost = line.rsplit(" ", 1)
        cost = int(cost)
        total += cost
        chain = []
        for frame in reversed(stack.split(";")):
            if not frame.strip() or PLUMBING.search(frame):
                continue
            chain.append(frame)
            if len(chain) >= depth:
                break
        sites[" ← ".join(chain)] += cost
    print(f"sites summed at their own peaks: {total / 2**20:.1f} MiB ({total / requests / 1024:.1f} KiB per held request)\n")
    print("| KiB per held request | site (innermost frames first) |")
    print("|---:|---|")
    for site, cost in sites.most_common(15):
        print(f"| {cost / requests / 1024:.1f} | `{site[:160]}` |")


if __name__ == "__main__":
    main()

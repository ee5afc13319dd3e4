"""Counts what the fuzz sent and got back, from schemathesis' HAR reports (one per role).

Usage: tally.py MIN_REQUESTS HAR... ; exits 1 when fewer than MIN_REQUESTS requests were sent
in total or any response was a 5xx. Independent of schemathesis' own verdict, which the caller
checks separately.
"""

import collections
import json
import sys


def main():
    minimum, paths = int(sys.argv[1]), sys.argv[2:]
    total, server_errors = 0, []
    for path in paths:
        entries = json.load(open(path))["log"]["entries"]
        statuses = collections.Counter(e["response"]["status"] for e in entries)
        role = path.rsplit("/", 1)[-1].removesuffix(".har")
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        print(f"{role:<11} {len(entries):>6} requests   {shown}")
        total += len(entries)
        server_errors += [f"{e['request']['method']} {e['request']['url']} -> {e['response']['status']}"
                          for e in entries if e["response"]["status"] >= 500]
    print(f"{'total':<11} {total:>6} requests, {len(server_errors)} responses >= 500")
    for line in server_errors[:20]:
        print("  " + line)
    if server_errors or total < minimum:
        if total < minimum:
            print(f"fewer than the {minimum} requests required")
        sys.exit(1)


if __name__ == "__main__":
    main()

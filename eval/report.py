#!/usr/bin/env python3
"""Markdown table of answer quality per knowledge base for one or more
frontdesk binaries, side by side (for bench/RESULTS.md).

Each KB is ingested with the binary into a fresh data dir (its docs/ and the
CSV files beside them) and scored with `eval answers --cases` (the interface
every version has), so an older build can be compared on the same sets.

    eval/report.py --bin base=/tmp/base/build/frontdesk --bin now=build/frontdesk \\
        eval/kb/isp-telecom eval/kb/airline-travel ...
"""
import argparse
import glob
import json
import math
import os
import subprocess
import tempfile


def wilson(k, n, z=1.959964):
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def fmt(k, n):
    lo, hi = wilson(k, n)
    return f"{k / n:.2f} [{lo:.2f}, {hi:.2f}]" if n else "—"


def run(binary, kb):
    with tempfile.TemporaryDirectory() as d:
        paths = [os.path.join(kb, "docs")] if os.path.isdir(os.path.join(kb, "docs")) else [kb]
        paths += sorted(glob.glob(os.path.join(kb, "*.csv")))
        env = dict(os.environ, FRONTDESK_LOG_LEVEL="error")
        subprocess.run([binary, "--data", d, "ingest"] + paths, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = subprocess.run([binary, "--data", d, "eval", "answers", "--cases",
                              os.path.join(kb, "cases.jsonl"), "--json"], env=env, check=True,
                             capture_output=True, text=True).stdout
    j = json.loads(out)
    ans, un = j["answerable"], j["unanswerable"]
    correct = round(j["accuracy"] * ans)
    declined_un = round(j["decline_rate"] * un)
    answered_un = un - declined_un
    wrong = j["wrong_source"] + j["missing_fact"] + answered_un
    return dict(ans=ans, un=un, correct=correct, declined=j["false_declines"],
                declined_un=declined_un, wrong=wrong, n=j["cases"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True, help="name=path")
    ap.add_argument("kbs", nargs="+")
    a = ap.parse_args()
    bins = [b.split("=", 1) for b in a.bin]
    print("| set | build | correct and cited | declined (answerable) | unanswerable declined "
          "| answered wrong (all) |")
    print("|---|---|---|---|---|---|")
    for kb in a.kbs:
        name = os.path.basename(os.path.normpath(kb))
        for bname, path in bins:
            r = run(path, kb)
            print(f"| {name} | {bname} | {fmt(r['correct'], r['ans'])} | {r['declined']}/{r['ans']} "
                  f"| {fmt(r['declined_un'], r['un'])} | {fmt(r['wrong'], r['n'])} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Trains the sentence picker's weights (SENT_W in src/answer/extract.c) from
`eval answers --dump-sentences` rows of the DEVELOPMENT knowledge bases
(eval/README.md): every sentence of each answerable case's source document
that the picker scored, its evidence (fd_answer_sent_feature_names) and
whether it holds one of the case's expected strings.

The model is a conditional logit (softmax over one case's sentences):
it learns to put a sentence that holds the answer first. Printed per set,
leave-one-KB-out (a set's number comes from weights fitted on the others):
the share of cases whose first sentence holds the answer, and whether one
of the first two does, for the hand-set weights and for the learned ones.
Pure Python (no numpy on the build machines).

    eval/run.sh dev build/frontdesk --dump-sentences /tmp/sent.jsonl
    eval/train_picker.py /tmp/sent.jsonl
"""
import json
import math
import sys

NAMES = ["cov", "ctx", "sec", "seclead", "fact", "focus", "cue", "extreme",
         "rank", "miss", "item", "len", "leadin", "afterq", "lead"]
# The hand-set weights of extract.c before this model (SENT_W).
HAND = [1.0, 0.35, 0.25, 0.25, 0.3, 0.5, 0.4, 0.6, 0.1, 0, 0, 0, 0, 0, 0]
L2 = 0.01


def load(path):
    cases = {}
    for line in open(path):
        r = json.loads(line)
        key = (r["set"], r["id"])
        c = cases.setdefault(key, {"set": r["set"], "ok": r["ok"], "s": [], "seen": set()})
        if r["text"] in c["seen"]:  # overlapping chunks hold a sentence twice
            continue
        c["seen"].add(r["text"])
        c["s"].append((r["f"], 1 if r["label"] else 0))
    # only cases where some sentence holds the answer teach anything
    return [c for c in cases.values() if any(y for _, y in c["s"])]


def dot(w, f):
    return sum(wi * fi for wi, fi in zip(w, f))


def fit(cases, epochs=400, lr=0.5):
    d = len(NAMES)
    w = list(HAND)
    for _ in range(epochs):
        g = [0.0] * d
        for c in cases:
            z = [dot(w, f) for f, _ in c["s"]]
            m = max(z)
            e = [math.exp(x - m) for x in z]
            tot = sum(e)
            pos = sum(ei for ei, (_, y) in zip(e, c["s"]) if y)
            # d/dw of -log(sum_pos softmax)
            for ei, (f, y) in zip(e, c["s"]):
                coef = ei / tot - (ei / pos if y else 0.0)
                for i in range(d):
                    g[i] += coef * f[i]
        n = len(cases)
        for i in range(d):
            w[i] -= lr * (g[i] / n + L2 * w[i])
    return w


def hits(w, cases):
    h1 = h2 = 0
    for c in cases:
        order = sorted(c["s"], key=lambda s: -dot(w, s[0]))
        h1 += order[0][1]
        h2 += any(y for _, y in order[:2])
    return h1, h2


def main():
    cases = load(sys.argv[1])
    sets = sorted({c["set"] for c in cases})
    print("# leave-one-KB-out: cases whose first (first two) sentence holds the answer")
    tot = {"hand": [0, 0], "model": [0, 0]}
    for s in sets:
        test = [c for c in cases if c["set"] == s]
        w = fit([c for c in cases if c["set"] != s])
        hh, mh = hits(HAND, test), hits(w, test)
        for k, v in (("hand", hh), ("model", mh)):
            tot[k][0] += v[0]
            tot[k][1] += v[1]
        print(f"{s:16} n={len(test):3}  hand {hh[0]}/{hh[1]}  model {mh[0]}/{mh[1]}")
    print(f"{'all':16} n={len(cases):3}  hand {tot['hand'][0]}/{tot['hand'][1]}  "
          f"model {tot['model'][0]}/{tot['model'][1]}")
    w = fit(cases)
    print("# trained on all: " + ", ".join(sets))
    print("SENT_W: " + ", ".join(f"[FD_SF_{n.upper()}] = {x:.4f}" for n, x in zip(NAMES, w)))


if __name__ == "__main__":
    main()

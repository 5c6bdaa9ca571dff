"""Sentence ranking on a KB: lexical (BM25 on 5-letter stems), the
Universal Sentence Encoder lite (cosine), and mixes, scored on cases.jsonl.

A question counts as a hit at k when one of its top-k sentences holds one
of the expected strings (the same strings eval answers checks). The AUC is
of the best sentence score, answerable questions against unanswerable
ones: how well that score alone would decide whether to answer.
Usage: probe.py KB_DIR...  (see probe.sh)"""
import collections
import html
import json
import math
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STOP = set("""a an the is are was were be to of in on for at by with and or i my
me we you your it its do does can how what when where which who much many
there this that if not no any have has will would could should am get please
hi hello thanks""".split())
MIXES = [0.0, 0.3, 0.5, 0.7, 1.0]  # weight of the encoder; 0 = words only


def sentences(path):
    t = open(path, encoding="utf-8", errors="replace").read()
    if path.endswith(".html"):
        t = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", t, flags=re.S)
        t = re.sub(r"</?(p|li|h\d|tr|div|br|ul|ol|table)[^>]*>", "\n", t)
        t = html.unescape(re.sub(r"<[^>]+>", " ", t))
    out = []
    for line in t.split("\n"):
        line = re.sub(r"^[-*|#] *", "", line.strip()).strip("# ")
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line):
            if len(s.strip()) > 3:
                out.append(s.strip())
    return out


def kb_sentences(kb):
    out = []
    docs = os.path.join(kb, "docs")
    for f in sorted(os.listdir(docs)):
        out += [(f, s) for s in sentences(os.path.join(docs, f))]
    for f in sorted(os.listdir(kb)):
        if f.endswith(".csv"):
            lines = open(os.path.join(kb, f), encoding="utf-8").read().split("\n")
            out += [(f, lines[0] + ": " + l) for l in lines[1:] if l.strip()]
    return out


def embed(texts):
    p = subprocess.run(["node", os.path.join(HERE, "embed.js")],
                       input="\n".join(t.replace("\n", " ") for t in texts),
                       capture_output=True, text=True, check=True)
    vs = json.loads(p.stdout)
    return [[x / (math.sqrt(sum(y * y for y in v)) or 1) for x in v] for v in vs]


def toks(s):
    return [w[:5] for w in re.findall(r"[a-z0-9£$€]+", s.lower()) if w not in STOP]


def auc(pos, neg):
    if not pos or not neg:
        return float("nan")
    return sum((x > y) + 0.5 * (x == y) for x in pos for y in neg) / (len(pos) * len(neg))


def main(kbs):
    pooled = collections.defaultdict(lambda: [0, 0, 0])
    for kb in kbs:
        name = os.path.basename(os.path.normpath(kb))
        sents = kb_sentences(kb)
        cases = [json.loads(l) for l in open(os.path.join(kb, "cases.jsonl")) if l.strip()]
        sv = embed([s for _, s in sents])
        qv = embed([c["question"] for c in cases])
        st = [toks(s) for _, s in sents]
        n = len(st)
        df = collections.Counter(t for x in st for t in set(x))
        avg = sum(map(len, st)) / n
        tfs = [collections.Counter(x) for x in st]

        def bm25(q, i):
            s = 0.0
            for t in set(q):
                f = tfs[i].get(t)
                if f:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    s += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len(st[i]) / avg))
            return s

        for mix in MIXES:
            hits1 = hits3 = answerable = 0
            best_a, best_u = [], []
            for c, q in zip(cases, qv):
                qt = toks(c["question"])
                # Both scores put on a similar scale: cosine*10/3 and BM25/10
                # are each ~0..1.5 on these KBs.
                sc = sorted(((mix * sum(a * b for a, b in zip(q, sv[i])) * 10 / 3
                              + (1 - mix) * bm25(qt, i) / 10, i) for i in range(n)),
                            reverse=True)
                if not c["answerable"]:
                    best_u.append(sc[0][0])
                    continue
                best_a.append(sc[0][0])
                answerable += 1
                exp = [e.lower() for e in c.get("expect_any", [])]
                hit = [any(e in sents[i][1].lower() for e in exp) for _, i in sc[:3]]
                hits1 += hit[0]
                hits3 += any(hit)
            p = pooled[mix]
            p[0] += answerable
            p[1] += hits1
            p[2] += hits3
            print(json.dumps({"kb": name, "encoder_weight": mix, "answerable": answerable,
                              "top1": round(hits1 / answerable, 3),
                              "top3": round(hits3 / answerable, 3),
                              "auc_best_score": round(auc(best_a, best_u), 3),
                              "sentences": n}))
    for mix, (a, h1, h3) in pooled.items():
        print(json.dumps({"kb": "pooled", "encoder_weight": mix, "answerable": a,
                          "top1": round(h1 / a, 3), "top3": round(h3 / a, 3)}))


if __name__ == "__main__":
    main(sys.argv[1:])

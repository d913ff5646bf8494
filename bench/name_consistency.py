#!/usr/bin/env python3
"""How consistently a model keeps its characters' names, from the stories that
`slm eval stories` wrote (its report.json). The story world names two characters (the
main one and a friend), so a story that keeps its cast names few people, and a story
continued from a beginning names its hero again.

Usage: bench/name_consistency.py REPORT.json [REPORT.json ...]
Prints per report: stories, mean distinct first names per story, the share of stories
with at most two, and (for beginnings) the share whose continuation names the
beginning's character again, beside eval's own pronoun agreement.
"""
import json
import re
import sys
from pathlib import Path

NAMES = Path(__file__).resolve().parent.parent / "src/slm/stories/assets/vocab/names.txt"


def first_names():
    out = set()
    for line in NAMES.read_text().splitlines():
        f = line.split()
        if len(f) == 2 and not line.startswith("#"):
            out.add(f[0])
    return out


def main(paths):
    names = first_names()
    for path in paths:
        model = json.load(open(path))["models"][0]
        stories = model["stories"]
        distinct, small_cast, kept, beginnings = [], 0, 0, 0
        for s in stories["samples"]:
            text = s["story"]
            found = {w for w in re.findall(r"[A-Z][a-z]+", text) if w in names}
            distinct.append(len(found))
            small_cast += len(found) <= 2
            prompt = s.get("prompt", "")
            if text.startswith(prompt) and "Words:" not in prompt and "### Instruction" not in prompt:
                hero = [w for w in re.findall(r"[A-Z][a-z]+", prompt) if w in names]
                if hero:
                    beginnings += 1
                    kept += re.search(r"\b%s\b" % hero[0], text[len(prompt):]) is not None
        n = len(distinct)
        print(f"{model['name']}: {n} stories | distinct names per story {sum(distinct) / n:.2f} | "
              f"at most two names {small_cast / n:.3f} | beginning's name again {kept}/{beginnings} "
              f"= {kept / max(1, beginnings):.3f} | pronoun agreement "
              f"{stories['metrics'].get('consistency.pronoun_agreement')}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

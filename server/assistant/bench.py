"""`python -m server.assistant.bench`: how often the store assistant answers right (bench/assistant.md).

Two sets, both from the catalog's facts: questions generated from every displayed product's name (price, where,
materials, stock, sizes, origin) in all four stores, and a hand-written set in the words a shopper would use
(nicknames, no exact names, typos of case) for the boutique, with questions the catalogue cannot answer, which
must hand over to a person. A right answer names the expected product and the expected kind of question (or
hands over when it should)."""

from __future__ import annotations

import argparse

from server.assistant.answers import questions_from, store_assistant
from server.bench_report import publish
from server.commerce.catalog import load_catalog
from server.scenes.loader import load_scene

STORES = ("boutique", "space-market", "fairy-beauty", "launch-hall")
# (question, product id or None for "must hand over", intent)
HAND_WRITTEN: tuple[tuple[str, str | None, str], ...] = (
    ("how much for the oxford shirt", "oxford-shirt-men", "price"),
    ("Is the Oxford shirt made of cotton?", "oxford-shirt-men", "materials"),
    ("what sizes has the oxford", "oxford-shirt-men", "sizes"),
    ("where's the perfume", "perfume-eau-fleurie", "where"),
    ("How expensive is the eau fleurie?", "perfume-eau-fleurie", "price"),
    ("take me to the hoodies", "hoodie-recycled", "where"),
    ("what colours does the hoodie come in", "hoodie-recycled", "colours"),
    ("any yoga leggings left?", "yoga-leggings", "stock"),
    ("what's in the vitamin c serum", "serum-vitamin-c", "materials"),
    ("where is the denim jacket made", "denim-jacket", "origin"),
    ("show me the chelsea boots", "chelsea-boot-men", "where"),
    ("what does the wool coat cost", "wool-coat-women", "price"),
    ("is the slip dress available", "slip-dress", "stock"),
    ("which sizes for the trail shoes", "trail-shoe", "sizes"),
    ("where can I get a lipstick", "lipstick-velvet", "where"),
    ("what is the lounge armchair made of", "armchair-lounge", "materials"),
    ("the oak coffee table, where is it made", "coffee-table-oak", "origin"),
    ("how much is the nail polish", "nail-polish", "price"),
    ("how much is that scent", "perfume-eau-fleurie", "price"),
    ("do you sell bicycles", None, "unknown"),
    ("what time do you close", None, "unknown"),
    ("can I pay with bitcoin", None, "unknown"),
    ("is there a toilet", None, "unknown"),
)


def score(store: str, questions) -> tuple[int, int, list[str]]:  # type: ignore[no-untyped-def]
    assistant = store_assistant(load_scene(store), load_catalog())
    right, wrong = 0, []
    for question, product, intent in questions:
        answer = assistant.ask(question)
        ok = answer.handover if product is None else (answer.product, answer.intent) == (product, intent)
        right += ok
        if not ok:
            wrong.append(f"{question!r} -> {answer.product} / {answer.intent}")
    return right, len(questions), wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.assistant.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    lines = ["# Store assistant: answers from the catalog", "", "`python -m server.assistant.bench` (part of "
             "`make bench`); server/assistant/bench.py says how the questions are made.", "",
             "| set | right | questions | accuracy |", "| --- | --- | --- | --- |"]
    misses = []
    catalog = load_catalog()
    for store in STORES:
        assistant = store_assistant(load_scene(store), catalog)
        right, n, wrong = score(store, questions_from(assistant.products.values()))
        lines.append(f"| generated, {store} | {right} | {n} | {right / n:.1%} |")
        misses += wrong
    right, n, wrong = score("boutique", HAND_WRITTEN)
    lines.append(f"| hand-written, boutique (4 must hand over) | {right} | {n} | {right / n:.1%} |")
    misses += wrong
    lines += ["", "Misses:" if misses else "No misses.", *[f"- {m}" for m in misses], "",
              "The generated set uses the products' own names, so it mostly checks the question kinds and that "
              "similar names (a product and the bundle that contains it) are told apart; the hand-written set is "
              "closer to how people ask, and small."]
    return publish(lines, "assistant", write=not args.no_write)


if __name__ == "__main__":
    raise SystemExit(main())

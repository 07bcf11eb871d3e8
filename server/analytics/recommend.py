"""Recommendations from in-store behaviour (sans-I/O): what a shopper looked at, picked up, tried on, put in the
bag and bought, weighted by how strong a signal each is, scores the rest of the catalog by what it shares with
those products (category, tags, price band) and by what other shoppers who touched the same products went on to
buy. Without any behaviour (or without consent to use it) the answer is the store's popularity ranking.

`bench/recommend.py` evaluates it offline on simulated shoppers with known tastes (hit rate @5 against the
popularity baseline)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STAGE_WEIGHT = {"seen": 0.3, "picked_up": 1.0, "tried_on": 2.0, "in_bag": 3.0, "bought": 4.0}
CONTENT_WEIGHT, PEERS_WEIGHT, POPULAR_WEIGHT = 1.0, 0.6, 0.05


@dataclass(frozen=True)
class Item:
    id: str
    category: str
    tags: tuple[str, ...]
    price_minor: int

    @property
    def price_band(self) -> int:
        return int(math.log10(max(self.price_minor, 1)) * 2)  # about x3 per band

    def features(self) -> set[str]:
        return {f"c:{self.category}", f"p:{self.price_band}", *(f"t:{t}" for t in self.tags)}


Events = Iterable[tuple[str, str]]  # (product, stage)


class Recommender:
    def __init__(self, items: Iterable[Item]) -> None:
        self.items = {i.id: i for i in items}
        self.features = {i.id: i.features() for i in self.items.values()}
        self.bought_with: dict[str, Counter[str]] = defaultdict(Counter)  # touched product -> later bought
        self.popularity: Counter[str] = Counter()

    def learn(self, histories: Iterable[Events]) -> None:
        """Other shoppers' histories (pseudonymous): popularity, and what was bought after touching what."""
        for events in histories:
            events = list(events)
            bought = {p for p, stage in events if stage == "bought" and p in self.items}
            touched = {p for p, stage in events if STAGE_WEIGHT.get(stage, 0) >= 1.0 and p in self.items}
            self.popularity.update(bought)
            for t in touched:
                for b in bought - {t}:
                    self.bought_with[t][b] += 1

    def profile(self, events: Events) -> dict[str, float]:
        strength: dict[str, float] = defaultdict(float)
        for product, stage in events:
            if product in self.items:
                strength[product] = max(strength[product], STAGE_WEIGHT.get(stage, 0.0))
        return strength

    def recommend(self, events: Events | None, k: int = 5, exclude: Iterable[str] = ()) -> list[str]:
        """Top `k` product ids; `events` None (no consent) or empty gives the popularity ranking."""
        strength = self.profile(events or ())
        owned = {p for p, s in strength.items() if s >= STAGE_WEIGHT["bought"]} | set(exclude)
        top_pop = max(self.popularity.values(), default=0) or 1
        if not strength:
            ranked = sorted(self.items, key=lambda p: (-self.popularity[p], p))
            return [p for p in ranked if p not in owned][:k]
        liked: Counter[str] = Counter()
        total = sum(strength.values()) or 1.0
        for product, s in strength.items():
            for f in self.features[product]:
                liked[f] += s / total
        scores: dict[str, float] = {}
        for pid, feats in self.features.items():
            if pid in owned:
                continue
            content = sum(liked[f] for f in feats) / math.sqrt(len(feats))
            peers = sum(s * self.bought_with[t][pid] / (1 + sum(self.bought_with[t].values()))
                        for t, s in strength.items() if t != pid)
            # What the shopper only glanced at stays a candidate; what they handled weighs a little less (they
            # know it), so neighbours they have not found yet come up.
            seen_penalty = 0.3 * min(strength.get(pid, 0.0), 1.0)
            scores[pid] = (CONTENT_WEIGHT * content + PEERS_WEIGHT * peers
                           + POPULAR_WEIGHT * self.popularity[pid] / top_pop - seen_penalty)
        return sorted(scores, key=lambda p: (-scores[p], p))[:k]


def items_from_catalog(products: Mapping[str, object]) -> list[Item]:
    return [Item(p.id, p.category, tuple(p.tags), p.price_minor) for p in products.values()]  # type: ignore[attr-defined]

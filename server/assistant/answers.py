"""The store assistant's answers (sans-I/O): what a shopper asks about a product (price, stock, sizes, colours,
materials, where it is made, where it stands) answered from the catalog by retrieval, and a walking route to it
over the store's walkable floor. No language model: a hosted one cannot be reached and a local one would be a
large download for a small catalog; BM25 over each product's words plus a few question patterns answers what
the catalog can answer, and says so (offering a person) when it cannot.

`ask(question)` -> Answer; `route(from_xz, to_xz)` -> floor points (BFS on a 0.25 m grid of the walkable area)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from server.scenes.loader import product_positions

GRID_M = 0.25
VIEW_M = 1.1  # a route ends this far from its product, where possible: near enough to see it whole
NAME_BONUS = 2.0  # times the share of a product's name words the question contains
MIN_SCORE = 1.2  # below this the best product match is a guess: the assistant says it does not know
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = ("a an the is are it its this that these those of for to in on at do does did you your i me my we our "
            "have has any some what which how much many can could would will please tell show about there here "
            "and or with me it's is there one")
_STOP = set(_STOP_WORDS.split())
INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (  # first match wins; cues are matched as whole words
    ("materials", ("material", "materials", "made of", "fabric", "contain", "contains", "ingredients",
                   "what s in")),
    ("origin", ("made in", "made", "origin", "produced", "comes from", "come from", "manufactured", "country")),
    ("where", ("where", "find", "take", "walk", "lead", "guide", "bring", "located", "location", "show me")),
    ("price", ("price", "cost", "costs", "how much", "expensive", "cheap")),
    ("stock", ("stock", "available", "left", "sold out", "have any")),
    ("sizes", ("size", "sizes", "fit")),
    ("colours", ("colour", "colours", "color", "colors")),
)


# Everyday words shoppers use that the catalogue does not (it says "fragrance", "sneaker"): a question's word
# also looks for these. Small on purpose: each entry is a word a shopper was seen to miss with, not a thesaurus.
SHOPPER_WORDS: dict[str, tuple[str, ...]] = {
    "perfume": ("fragrance", "parfum"), "scent": ("fragrance", "parfum"), "cologne": ("fragrance",),
    "trainer": ("sneaker",), "jumper": ("sweater", "hoodie"), "sofa": ("armchair",), "couch": ("armchair",),
    "tv": ("television",), "telly": ("tv", "television"), "fridge": ("refrigerator",),
}


def expanded(query: list[str]) -> list[str]:
    return query + [extra for w in query for extra in SHOPPER_WORDS.get(w, ())]


def words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower()):
        w = w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w  # plural -> singular
        if len(w) > 1 and w not in _STOP:  # "where's" leaves an "s"
            out.append(w)
    return out


@dataclass(frozen=True)
class Answer:
    text: str
    intent: str  # one of INTENTS' names, "unknown"
    product: str | None = None
    at: tuple[float, float] | None = None  # where the product stands (floor x, z), for a route
    handover: bool = False  # the assistant could not answer: offer a person (a staff advisor)

    def view(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "product": self.product,
                "at": list(self.at) if self.at else None, "handover": self.handover}


@dataclass
class Assistant:
    products: dict[str, Any]  # id -> catalog Product (only this store's)
    positions: dict[str, tuple[float, float]]  # id -> floor x, z
    stock: dict[str, int] = field(default_factory=dict)  # "product/variant" -> units, live
    k1: float = 1.4
    b: float = 0.6

    def __post_init__(self) -> None:
        self.docs = {pid: self._doc(p) for pid, p in self.products.items()}
        self.avg_len = sum(len(d) for d in self.docs.values()) / max(len(self.docs), 1)
        self.df: Counter[str] = Counter(w for d in self.docs.values() for w in set(d))

    @staticmethod
    def _doc(p: Any) -> list[str]:
        # The name counts three times: "the oxford shirt" should find it over a shirt that mentions Oxford.
        parts = [p.name] * 3 + [p.category, p.kind, " ".join(p.tags), p.description,
                                " ".join(p.color_names), p.transparency.get("origin", "")]
        return words(" ".join(parts))

    def _bm25(self, query: list[str]) -> list[tuple[float, str]]:
        n = len(self.docs)
        scores = []
        for pid, doc in self.docs.items():
            tf = Counter(doc)
            s = 0.0
            for w in set(query):
                if w not in tf:
                    continue
                idf = math.log(1 + (n - self.df[w] + 0.5) / (self.df[w] + 0.5))
                s += idf * tf[w] * (self.k1 + 1) / (tf[w] + self.k1 * (1 - self.b + self.b * len(doc) / self.avg_len))
            scores.append((s, pid))
        return sorted(scores, reverse=True)

    def intent_of(self, question: str, name: str = "") -> str:
        """The question's kind, from its cue words; the words of the product's own name are not cues ("Fabric
        Smart Speaker" asked about its price is a price question)."""
        named = set(_WORD.findall(name.lower()))
        q = f" {' '.join(w for w in _WORD.findall(question.lower()) if w not in named)} "
        for name, cues in INTENTS:
            if any(f" {cue} " in q for cue in cues):
                return name
        return "about"

    def ask(self, question: str) -> Answer:
        question = question[:300]
        query = words(question)
        ranked = self._bm25(expanded(query))
        if not ranked or ranked[0][0] < MIN_SCORE:
            return Answer("I don't know that one from our catalogue. I can call a person from the store for you.",
                          "unknown", handover=True)
        # Among close matches, the product whose own name the question covers best ("the cloudline runner" is
        # the runner, not the twin pack that contains it).
        asked = set(query)
        close = [(score + NAME_BONUS * _coverage(self.products[pid].name, asked), pid)
                 for score, pid in ranked[:5] if score >= ranked[0][0] * 0.6]
        p = self.products[max(close)[1]]
        intent = self.intent_of(question, p.name)
        return Answer(self._say(intent, p), intent, p.id, self.positions.get(p.id))

    def _say(self, intent: str, p: Any) -> str:
        name = p.name
        price = f"{p.price_minor / 100:.2f} {p.currency}"
        if intent == "price":
            return f"{name} costs {price}."
        if intent == "stock":
            units = {v.id: self.stock.get(f"{p.id}/{v.id}", v.stock) for v in p.variants}
            total = sum(max(u, 0) for u in units.values())
            if total == 0:
                return f"{name} is sold out at the moment."
            gone = [v for v, u in units.items() if u <= 0]
            rest = f"; sold out: {', '.join(gone)}" if gone else ""
            return f"We have {total} of {name} in stock{rest}."
        if intent == "sizes":
            sizes = p.options.get("size")
            return f"{name} comes in sizes {', '.join(map(str, sizes))}." if sizes else f"{name} is not sold in sizes."
        if intent == "colours":
            colours = p.color_names
            return f"{name} comes in {', '.join(colours)}." if colours else f"{name} comes in one look only."
        if intent == "materials":
            mats = p.transparency.get("materials") or []
            if not mats:
                return f"The catalogue does not list what {name} is made of."
            return f"{name}: " + ", ".join(f"{m['name']} {m['percent']}%" for m in mats) + "."
        if intent == "origin":
            origin = p.transparency.get("origin")
            return f"{name} is made in {origin}." if origin else f"The catalogue does not say where {name} is made."
        if intent == "where":
            return (f"{name} is over here: follow me." if p.id in self.positions
                    else f"{name} is not on display in this store.")
        return f"{name}: {p.description} {price}."


def _coverage(name: str, asked: set[str]) -> float:
    own = set(words(name))
    return len(own & asked) / len(own) if own else 0.0


@dataclass(frozen=True)
class FloorGrid:
    """The walkable floor on a GRID_M grid: computed once per scene (a big hall is 50,000 cells)."""
    xs: np.ndarray
    zs: np.ndarray
    ok: np.ndarray  # walkable cells
    clear: np.ndarray  # walkable cells whose eight neighbours are walkable too
    fields: dict[tuple[str, tuple[float, float]], np.ndarray] = field(default_factory=dict)  # per goal


_GRIDS: dict[tuple[int, tuple[float, float, float, float]], FloorGrid] = {}
UNREACHED = np.iinfo(np.int32).max


def floor_grid(walkable: Any, bounds: tuple[float, float, float, float]) -> FloorGrid:
    key = (id(walkable), bounds)
    grid = _GRIDS.get(key)
    if grid is None:
        x0, z0, x1, z1 = bounds
        nx, nz = int((x1 - x0) / GRID_M) + 1, int((z1 - z0) / GRID_M) + 1
        xs, zs = x0 + np.arange(nx) * GRID_M, z0 + np.arange(nz) * GRID_M
        gx, gz = np.meshgrid(xs, zs, indexing="ij")
        ok = walkable.mask(np.stack([gx.ravel(), gz.ravel()], axis=1)).reshape(nx, nz)
        grid = _GRIDS[key] = FloorGrid(xs, zs, ok, _clear_of_fixtures(ok))
    return grid


def route(walkable: Any, start: tuple[float, float], goal: tuple[float, float], bounds: tuple[float, float, float,
          float], stand_m: float = 1.5) -> list[tuple[float, float]] | None:
    """Floor points from `start` to a walkable spot within `stand_m` of `goal` (a product stands on a fixture,
    which is not walkable; one on a big fixture or a stage gets up to 2 m more), or None. `walkable.mask(xz)` is
    the scene's check; `bounds` = x0, z0, x1, z1. The walk keeps a grid cell (GRID_M) clear of every fixture where
    the floor allows, so a head following it never passes through a shelf's edge, and it ends at the spot about
    VIEW_M from the product (near enough to see it whole) that is nearest to walk to. The steps to the product from
    every cell are computed once per product (a wavefront over the grid) and kept: a question costs a walk down.
    """
    grid = floor_grid(walkable, bounds)
    gx, gz = np.meshgrid(grid.xs, grid.zs, indexing="ij")
    to_goal = np.hypot(gx - goal[0], gz - goal[1])
    for name, floor in (("clear", grid.clear), ("ok", grid.ok)):  # with a margin; a narrow store without one
        for reach in (stand_m, stand_m + 2.0):
            key = (f"{name}:{reach}", (round(goal[0], 3), round(goal[1], 3)))
            steps = grid.fields.get(key)
            if steps is None:
                near = floor & (to_goal <= reach)
                # The viewing ring first (about VIEW_M away); any spot within reach if the ring has none.
                ring = near & (np.abs(to_goal - VIEW_M) <= 0.3)
                steps = grid.fields[key] = _wavefront(floor, ring if ring.any() else near)
            path = _descend(steps, floor, start, grid.xs, grid.zs)
            if path:
                return path
    return None


_MOVES = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


def _shift(a: np.ndarray, dx: int, dz: int, fill: Any) -> np.ndarray:
    """`a` moved by (dx, dz): out[i, j] = a[i - dx, j - dz]."""
    out = np.full_like(a, fill)
    nx, nz = a.shape
    out[max(dx, 0):nx + min(dx, 0), max(dz, 0):nz + min(dz, 0)] = a[max(-dx, 0):nx - max(dx, 0),
                                                                     max(-dz, 0):nz - max(dz, 0)]
    return out


def _wavefront(floor: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Steps (8-connected, never cutting a fixture's corner) from every floor cell to the nearest source cell;
    UNREACHED where none can be reached. Breadth-first by whole fronts: numpy over the grid, not per cell."""
    steps = np.full(floor.shape, UNREACHED, dtype=np.int32)
    front = sources & floor
    steps[front] = 0
    # A diagonal step from c to c + (dx, dz) needs both orthogonal neighbours walkable (no cutting a corner).
    diagonal_ok = {(dx, dz): floor & _shift(floor, 0, dz, False) & _shift(floor, dx, 0, False)
                   for dx, dz in _MOVES if dx and dz}
    n = 0
    while front.any():
        n += 1
        reached = np.zeros_like(front)
        for dx, dz in _MOVES:
            moved = _shift(front, dx, dz, False)
            if dx and dz:
                moved &= diagonal_ok[(dx, dz)]
            reached |= moved
        front = reached & floor & (steps == UNREACHED)
        steps[front] = n
    return steps


def _descend(steps: np.ndarray, floor: np.ndarray, start: tuple[float, float], xs: np.ndarray,
             zs: np.ndarray) -> list[tuple[float, float]] | None:
    nx, nz = steps.shape
    c = (min(max(round((start[0] - xs[0]) / GRID_M), 0), nx - 1), min(max(round((start[1] - zs[0]) / GRID_M), 0),
                                                                          nz - 1))
    if steps[c] == UNREACHED:  # the shopper's own spot is just off the grid's cells: start from the nearest one
        free = np.argwhere(steps != UNREACHED)
        if not len(free):
            return None
        c = tuple(int(v) for v in free[np.argmin(np.hypot(free[:, 0] - c[0], free[:, 1] - c[1]))])
    path = [c]
    while steps[c] > 0:
        best = None
        for dx, dz in _MOVES:  # orthogonal first: of equal steps, the straighter way
            n = (c[0] + dx, c[1] + dz)
            if not (0 <= n[0] < nx and 0 <= n[1] < nz) or steps[n] >= steps[c]:
                continue
            if dx and dz and not (floor[c[0] + dx, c[1]] and floor[c[0], c[1] + dz]):
                continue
            if best is None or steps[n] < steps[best]:
                best = n
        if best is None:  # cannot happen on a wavefront's own field; never loop
            return None
        c = best
        path.append(c)
    return _straighten([(round(float(xs[i]), 2), round(float(zs[j]), 2)) for i, j in path])


def _clear_of_fixtures(ok: np.ndarray) -> np.ndarray:
    """Walkable cells whose eight neighbours are walkable too."""
    padded = np.pad(ok, 1, constant_values=False)
    clear = ok.copy()
    for dx in (-1, 0, 1):
        for dz in (-1, 0, 1):
            clear &= padded[1 + dx:padded.shape[0] - 1 + dx, 1 + dz:padded.shape[1] - 1 + dz]
    return clear


def _straighten(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Keeps the corners only (points where the direction changes)."""
    if len(points) < 3:
        return points
    out = [points[0]]
    for a, b, c in zip(points, points[1:], points[2:], strict=False):
        if (b[0] - a[0], b[1] - a[1]) != (c[0] - b[0], c[1] - b[1]):
            out.append(b)
    out.append(points[-1])
    return out


positions_of = product_positions  # where each product stands (floor x, z)


def store_assistant(scene: Any, catalog: Any, stock: dict[str, int] | None = None) -> Assistant:
    positions = positions_of(scene)
    products = {pid: catalog.products[pid] for pid in positions if pid in catalog.products}
    return Assistant(products, positions, dict(stock or {}))


def questions_from(products: Iterable[Any]) -> list[tuple[str, str, str]]:
    """(question, expected product, expected intent) written from the catalog's own facts: the benchmark."""
    out = []
    for p in products:
        short = " ".join([w for w in p.name.split() if w.isalpha()][-2:]).lower()  # "Oxford Shirt", not "1 L"
        out += [(f"How much is the {p.name.lower()}?", p.id, "price"),
                (f"Where can I find the {short}?", p.id, "where"),
                (f"What is the {short} made of?", p.id, "materials"),
                (f"Do you have the {p.name.lower()} in stock?", p.id, "stock")]
        if p.options.get("size"):
            out.append((f"Which sizes does the {short} come in?", p.id, "sizes"))
        if p.transparency.get("origin"):
            out.append((f"Where is the {p.name.lower()} made in?", p.id, "origin"))
    return out

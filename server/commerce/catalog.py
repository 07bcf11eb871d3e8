"""The product catalog: data files in `assets/catalog/*.json`, validated on load.

A store is data, not code: each file holds `{"products": [...]}`. Every problem is reported with the
file, the product and the field, so a store owner can fix the data without reading Python.
Sans-I/O apart from reading the files once: search and stock lookups are plain functions of the data.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = REPO_ROOT / "assets" / "catalog"
SIZE_CHART_DIR = REPO_ROOT / "assets" / "size_charts"
MANIFEST_PATH = REPO_ROOT / "assets" / "generated" / "manifest.json"
MODEL_URL_PREFIX = "/assets/models/"

CATEGORIES = ("apparel", "shoes", "beauty", "furniture", "electronics", "groceries", "virtual-fashion", "bundles")
KINDS = ("physical", "virtual", "bundle")
FITS = ("fitted", "regular", "loose", "stretch")
OPTION_ORDER = ("color", "material", "size")
# Material options that change how the product looks; they become glTF material variants with the colour.
VISUAL_FINISHES = ("leather", "boucle", "mesh")  # the order option values appear in a variant key
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class CatalogError(ValueError):
    """Bad catalog data; the message names the file, the product and the field."""


@dataclass(frozen=True)
class Variant:
    id: str  # unique within the product, URL-safe, e.g. "light-blue-m"
    key: str  # option values joined with "/", e.g. "Light blue/M"
    options: dict[str, str]
    color_hex: str
    stock: int  # initial stock from the catalog data
    gltf_variant: str | None = None  # the KHR_materials_variants name showing this variant (None: one look)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "name": self.key, "options": self.options,
                "color_hex": self.color_hex, "stock": self.stock, "material_variant": self.gltf_variant}


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    category: str
    kind: str
    price_minor: int
    currency: str
    description: str
    variants: tuple[Variant, ...]
    transparency: dict[str, Any]
    model: dict[str, Any]  # {"type": generator name, "params": {...}} for assets.build
    size_chart: str | None = None
    fit: str | None = None
    dimensions_cm: dict[str, float] | None = None
    tags: tuple[str, ...] = ()
    options: dict[str, list[Any]] = field(default_factory=dict)
    bundle_items: tuple[dict[str, Any], ...] = ()
    model_url: str | None = None
    lod_urls: tuple[str, ...] = ()
    source_file: str = ""

    def variant(self, variant_id: str) -> Variant | None:
        return next((v for v in self.variants if v.id == variant_id), None)

    @property
    def total_stock(self) -> int:
        return sum(v.stock for v in self.variants)

    @property
    def color_names(self) -> list[str]:
        return [c["name"] for c in self.options.get("color", [])]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "category": self.category, "kind": self.kind,
            "price_minor": self.price_minor, "currency": self.currency, "in_stock": self.total_stock > 0,
            "colors": self.color_names, "model_url": self.model_url, "tags": list(self.tags),
        }

    def detail(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "description": self.description,
            "options": self.options,
            "variants": [v.to_dict() for v in self.variants],
            "size_chart": self.size_chart,
            "fit": self.fit,
            "dimensions_cm": self.dimensions_cm,
            "transparency": self.transparency,
            "bundle_items": list(self.bundle_items),
            "lod_urls": list(self.lod_urls),
        }


@dataclass
class Catalog:
    products: dict[str, Product]

    def get(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    @property
    def categories(self) -> list[str]:
        return sorted({p.category for p in self.products.values()})

    def search(
        self,
        text: str | None = None,
        category: str | None = None,
        kind: str | None = None,
        min_price_minor: int | None = None,
        max_price_minor: int | None = None,
        in_stock: bool | None = None,
        stock_of: Any = None,
    ) -> list[Product]:
        """Products matching every given filter, in catalog order.

        `stock_of(product) -> int` overrides the initial stock (the live stock source).
        """
        words = text.lower().split() if text else []
        out = []
        for p in self.products.values():
            if category and p.category != category:
                continue
            if kind and p.kind != kind:
                continue
            if min_price_minor is not None and p.price_minor < min_price_minor:
                continue
            if max_price_minor is not None and p.price_minor > max_price_minor:
                continue
            if in_stock is not None:
                available = (stock_of(p) if stock_of else p.total_stock) > 0
                if available != in_stock:
                    continue
            if words:
                haystack = " ".join([p.id, p.name, p.description, p.category, *p.tags, *p.color_names]).lower()
                if not all(w in haystack for w in words):
                    continue
            out.append(p)
        return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class _Checker:
    """Validation helpers that know where they are (file, product, field) for the error message."""

    def __init__(self, file: str, where: str) -> None:
        self.file, self.where = file, where

    def fail(self, field_name: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.file}: {self.where}.{field_name}: {problem}")

    def get(self, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str | None = None) -> Any:
        path = path or key
        if key not in obj:
            raise self.fail(path, "is missing")
        value = obj[key]
        bad_bool = isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
        if not isinstance(value, kind) or bad_bool:
            names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise self.fail(path, f"must be {names}, got {json.dumps(value)[:60]}")
        return value

    def text(self, obj: dict[str, Any], key: str, path: str | None = None) -> str:
        value = self.get(obj, key, str, path)
        if not value.strip():
            raise self.fail(path or key, "must not be empty")
        return value


def _parse_product(raw: Any, file: str, index: int, chart_dir: Path) -> Product:
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: products[{index}]: must be an object")
    pid = raw.get("id")
    c = _Checker(file, f"products[{index}]" + (f" ({pid!r})" if isinstance(pid, str) else ""))
    pid = c.text(raw, "id")
    if not _ID_RE.match(pid):
        raise c.fail("id", "use 2-64 lowercase letters, digits and dashes")
    name = c.text(raw, "name")
    category = c.text(raw, "category")
    if category not in CATEGORIES:
        raise c.fail("category", f"unknown category {category!r}; known: {', '.join(CATEGORIES)}")
    kind = c.text(raw, "kind")
    if kind not in KINDS:
        raise c.fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    price = c.get(raw, "price", dict)
    amount = c.get(price, "amount_minor", int, "price.amount_minor")
    if amount < 0:
        raise c.fail("price.amount_minor", "must not be negative")
    currency = c.text(price, "currency", "price.currency")
    if not _CURRENCY_RE.match(currency):
        raise c.fail("price.currency", f"must be an ISO 4217 code like EUR, got {currency!r}")
    description = c.text(raw, "description")
    tags = c.get(raw, "tags", list) if "tags" in raw else []

    options = c.get(raw, "options", dict)
    colors = c.get(options, "color", list, "options.color")
    if not colors:
        raise c.fail("options.color", "needs at least one colour")
    for i, col in enumerate(colors):
        if not isinstance(col, dict):
            raise c.fail(f"options.color[{i}]", "must be an object with name and hex")
        c.text(col, "name", f"options.color[{i}].name")
        if not _HEX_RE.match(c.text(col, "hex", f"options.color[{i}].hex")):
            raise c.fail(f"options.color[{i}].hex", f"must look like #a1b2c3, got {col['hex']!r}")
    for opt in ("material", "size"):
        if opt in options:
            values = c.get(options, opt, list, f"options.{opt}")
            if not values or not all(isinstance(v, str) and v for v in values):
                raise c.fail(f"options.{opt}", "must be a non-empty list of names")
    unknown = set(options) - set(OPTION_ORDER)
    if unknown:
        raise c.fail("options", f"unknown option {sorted(unknown)[0]!r}; known: {', '.join(OPTION_ORDER)}")

    size_chart = fit = None
    if "size_chart" in raw:
        size_chart = c.text(raw, "size_chart")
        chart_file = chart_dir / f"{size_chart}.json"
        if not chart_file.is_file():
            raise c.fail("size_chart", f"no size chart {size_chart!r} (expected {chart_file.name} in size_charts/)")
        try:
            chart = json.loads(chart_file.read_text())
            labels = [s["label"] for s in chart["sizes"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise c.fail("size_chart", f"size chart {chart_file.name} is unreadable: {exc}") from exc
        fit = c.text(raw, "fit")
        if fit not in FITS:
            raise c.fail("fit", f"must be one of {', '.join(FITS)}, got {fit!r}")
        for s in options.get("size", []):
            if s not in labels:
                raise c.fail("options.size", f"size {s!r} is not in chart {size_chart!r} ({', '.join(labels)})")
    elif "size" in options:
        raise c.fail("size_chart", "is missing: products sold in sizes need a size chart")
    elif "fit" in raw:
        raise c.fail("fit", "only makes sense with a size_chart")

    dimensions = None
    if "dimensions_cm" in raw:
        dimensions = c.get(raw, "dimensions_cm", dict)
        for axis in ("width", "depth", "height"):
            v = c.get(dimensions, axis, (int, float), f"dimensions_cm.{axis}")
            if not 0 < v <= 1000:
                raise c.fail(f"dimensions_cm.{axis}", f"must be between 0 and 1000 cm, got {v}")
    elif category == "furniture":
        raise c.fail("dimensions_cm", "is missing: furniture needs width, depth and height in cm")

    # Variants: every combination of the options, stock per variant with optional overrides.
    stock = c.get(raw, "stock", dict)
    per_variant = c.get(stock, "per_variant", int, "stock.per_variant")
    overrides = c.get(stock, "overrides", dict, "stock.overrides") if "overrides" in stock else {}
    axes = [(opt, [col["name"] for col in colors] if opt == "color" else options[opt])
            for opt in OPTION_ORDER if opt in options]
    hex_of = {col["name"]: col["hex"] for col in colors}
    combos = list(itertools.product(*[values for _, values in axes]))
    keys = ["/".join(combo) for combo in combos]
    for okey, ovalue in overrides.items():
        if not any(k == okey or k.startswith(okey + "/") for k in keys):
            raise c.fail(f"stock.overrides[{okey!r}]", f"matches no variant; variants look like {keys[0]!r}")
        if not isinstance(ovalue, int) or isinstance(ovalue, bool) or ovalue < 0:
            raise c.fail(f"stock.overrides[{okey!r}]", "must be a non-negative integer")
    if per_variant < 0:
        raise c.fail("stock.per_variant", "must not be negative")
    finishes = [m for m in options.get("material", []) if m in VISUAL_FINISHES]
    looks = len(colors) * max(1, len(finishes))
    variants = []
    seen_ids: set[str] = set()
    for combo, key in zip(combos, keys, strict=True):
        level = per_variant
        # The most specific matching override wins ("Rust/leather" beats "Rust").
        for okey in sorted(overrides, key=len):
            if key == okey or key.startswith(okey + "/"):
                level = overrides[okey]
        vid = _slug("-".join(combo))
        if vid in seen_ids:
            raise c.fail("options", f"two variants share the id {vid!r}; make the option names distinct")
        seen_ids.add(vid)
        opts = {opt: value for (opt, _), value in zip(axes, combo, strict=True)}
        look = opts["color"] + (f" / {opts['material']}" if len(finishes) > 1 else "")
        variants.append(Variant(vid, key, opts, hex_of[opts["color"]], level, look if looks > 1 else None))

    transparency = c.get(raw, "transparency", dict)
    tc = _Checker(file, c.where + ".transparency")
    mats = tc.get(transparency, "materials", list)
    if not mats:
        raise tc.fail("materials", "needs at least one material")
    for i, m in enumerate(mats):
        if not isinstance(m, dict):
            raise tc.fail(f"materials[{i}]", "must be an object with name and percent")
        tc.text(m, "name", f"materials[{i}].name")
        pct = tc.get(m, "percent", (int, float), f"materials[{i}].percent")
        if not 0 <= pct <= 100:
            raise tc.fail(f"materials[{i}].percent", f"must be 0-100, got {pct}")
    tc.text(transparency, "origin")
    certs = tc.get(transparency, "certifications", list)
    if not all(isinstance(x, str) and x for x in certs):
        raise tc.fail("certifications", "must be a list of names")
    steps = tc.get(transparency, "supply_chain", list)
    if not steps:
        raise tc.fail("supply_chain", "needs at least one step")
    for i, s in enumerate(steps):
        if not isinstance(s, dict):
            raise tc.fail(f"supply_chain[{i}]", "must be an object with step, where and by")
        for k in ("step", "where", "by"):
            tc.text(s, k, f"supply_chain[{i}].{k}")

    model = c.get(raw, "model", dict)
    c.text(model, "type", "model.type")
    if "params" in model:
        c.get(model, "params", dict, "model.params")

    bundle_items: list[dict[str, Any]] = []
    if kind == "bundle":
        bundle_items = c.get(raw, "bundle_items", list)
        if len(bundle_items) < 2:
            raise c.fail("bundle_items", "a bundle needs at least two products")
        for i, item in enumerate(bundle_items):
            if not isinstance(item, dict):
                raise c.fail(f"bundle_items[{i}]", "must be an object with product and quantity")
            c.text(item, "product", f"bundle_items[{i}].product")
            q = c.get(item, "quantity", int, f"bundle_items[{i}].quantity")
            if q < 1:
                raise c.fail(f"bundle_items[{i}].quantity", "must be at least 1")
    elif "bundle_items" in raw:
        raise c.fail("bundle_items", f"only bundles list bundle_items (this product's kind is {kind!r})")

    return Product(
        id=pid, name=name, category=category, kind=kind, price_minor=amount, currency=currency,
        description=description, variants=tuple(variants), transparency=transparency, model=model,
        size_chart=size_chart, fit=fit, dimensions_cm=dimensions, tags=tuple(tags), options=options,
        bundle_items=tuple(bundle_items), source_file=file,
    )


def load_catalog_from(
    catalog_dir: Path, size_chart_dir: Path = SIZE_CHART_DIR, manifest_path: Path | None = MANIFEST_PATH
) -> Catalog:
    """Read and validate every `*.json` in catalog_dir (sorted by name). Raises CatalogError."""
    catalog_dir = Path(catalog_dir)
    files = sorted(catalog_dir.glob("*.json"))
    if not files:
        raise CatalogError(f"{catalog_dir.name}/: no catalog files (*.json) found")
    products: dict[str, Product] = {}
    for path in files:
        file = f"{catalog_dir.name}/{path.name}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{file}: not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("products"), list):
            raise CatalogError(f"{file}: must be an object with a 'products' list")
        for i, raw in enumerate(data["products"]):
            product = _parse_product(raw, file, i, Path(size_chart_dir))
            if product.id in products:
                other = products[product.id].source_file
                raise CatalogError(f"{file}: products[{i}].id: duplicate id {product.id!r} (also in {other})")
            products[product.id] = product
    for p in products.values():
        for i, item in enumerate(p.bundle_items):
            target = products.get(item["product"])
            if target is None:
                raise CatalogError(f"{p.source_file}: {p.id!r}.bundle_items[{i}].product: unknown product "
                                   f"{item['product']!r}")
            if target.kind == "bundle":
                raise CatalogError(f"{p.source_file}: {p.id!r}.bundle_items[{i}].product: bundles cannot nest")
    manifest = read_manifest(manifest_path) if manifest_path else {}
    models = manifest.get("models", {})
    for pid, p in list(products.items()):
        entry = models.get(pid)
        if entry:
            products[pid] = _with_urls(p, entry)
    return Catalog(products)


def _with_urls(p: Product, entry: dict[str, Any]) -> Product:
    from dataclasses import replace

    return replace(
        p,
        model_url=MODEL_URL_PREFIX + entry["file"],
        lod_urls=tuple(MODEL_URL_PREFIX + lod["file"] for lod in entry.get("lods", [])),
    )


def read_manifest(path: Path | None = MANIFEST_PATH) -> dict[str, Any]:
    """The build manifest (hashed file names of generated models and scenes); empty if not built yet."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        return json.loads(Path(path).read_text())
    except ValueError:
        return {}


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The store's catalog (cached). PLAZA_CATALOG_DIR overrides where the data files live."""
    return load_catalog_from(Path(os.environ.get("PLAZA_CATALOG_DIR", CATALOG_DIR)))

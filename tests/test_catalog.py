"""Catalog data: loads, covers what the issue asks, and rejects bad data with file + field in the message."""

import json
import shutil
from pathlib import Path

import pytest

from server.commerce.catalog import (
    CATALOG_DIR,
    FITS,
    SIZE_CHART_DIR,
    CatalogError,
    load_catalog,
    load_catalog_from,
)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_catalog_has_enough_products_across_categories_and_kinds(catalog):
    assert len(catalog.products) >= 40
    cats = {p.category for p in catalog.products.values()}
    assert {"apparel", "shoes", "beauty", "furniture", "electronics", "groceries"} <= cats
    assert {p.kind for p in catalog.products.values()} == {"physical", "virtual", "bundle"}


def test_every_product_has_priced_variants_with_stock_and_transparency(catalog):
    for p in catalog.products.values():
        assert isinstance(p.price_minor, int) and p.price_minor > 0, p.id
        assert len(p.currency) == 3
        assert p.variants and all(isinstance(v.stock, int) and v.stock >= 0 for v in p.variants)
        assert len({v.id for v in p.variants}) == len(p.variants)
        t = p.transparency
        assert t["materials"] and t["origin"] and t["supply_chain"], p.id


def test_apparel_and_shoes_reference_existing_size_charts_with_their_sizes(catalog):
    for p in catalog.products.values():
        if p.category in ("apparel", "shoes"):
            assert p.size_chart and p.fit in FITS, p.id
            chart = json.loads((SIZE_CHART_DIR / f"{p.size_chart}.json").read_text())
            labels = {s["label"] for s in chart["sizes"]}
            assert set(p.options["size"]) <= labels


def test_furniture_has_dimensions_and_bundles_reference_real_products(catalog):
    for p in catalog.products.values():
        if p.category == "furniture":
            assert all(p.dimensions_cm[k] > 0 for k in ("width", "depth", "height"))
        if p.kind == "bundle":
            assert all(catalog.get(i["product"]) is not None for i in p.bundle_items)


def test_variants_combine_colour_material_and_size_and_overrides_apply(catalog):
    sofa = catalog.get("sofa-3-seat")
    assert len(sofa.variants) == 3 * 2  # colours x upholstery
    assert sofa.variant("rust-leather").stock == 0 and sofa.variant("rust-boucle").stock > 0
    runner = catalog.get("runner-sneaker-men")
    assert runner.variant("volt-leather-46").stock == 0
    assert runner.variant("volt-leather-46").gltf_variant == "Volt / leather"


def test_search_filters_combine(catalog):
    cheap_groceries = catalog.search(category="groceries", max_price_minor=500)
    assert cheap_groceries and all(p.price_minor <= 500 and p.category == "groceries" for p in cheap_groceries)
    assert [p.id for p in catalog.search(text="LINEN shirt")] == ["linen-shirt-women"]
    sold_out = catalog.search(in_stock=False)
    assert sold_out and all(p.total_stock == 0 for p in sold_out)


@pytest.fixture
def data_copy(tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, target)
    return target


def _edit(folder: Path, file: str, index: int, change) -> None:
    path = folder / file
    data = json.loads(path.read_text())
    change(data["products"][index])
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda p: p["price"].update(amount_minor=12.5), ["apparel.json", "price.amount_minor", "int"]),
        (lambda p: p.update(size_chart="tops-martian"), ["apparel.json", "size_chart", "tops-martian"]),
        (lambda p: p.update(fit="baggy"), ["fit", "baggy"]),
        (lambda p: p["options"].update(size=["M", "XXXXL"]), ["options.size", "XXXXL"]),
        (lambda p: p["options"]["color"][0].update(hex="blue"), ["options.color[0].hex"]),
        (lambda p: p["stock"].update(overrides={"Purple/M": 1}), ["stock.overrides", "Purple/M"]),
        (lambda p: p["transparency"].pop("origin"), ["transparency.origin", "missing"]),
        (lambda p: p.update(category="weapons"), ["category", "weapons"]),
    ],
)
def test_bad_product_data_is_rejected_naming_file_and_field(data_copy, change, words):
    _edit(data_copy, "apparel.json", 0, change)
    with pytest.raises(CatalogError) as err:
        load_catalog_from(data_copy, manifest_path=None)
    for w in words:
        assert w in str(err.value)


def test_duplicate_ids_unknown_bundle_items_and_broken_json_are_rejected(data_copy):
    _edit(data_copy, "shoes.json", 0, lambda p: p.update(id="tee-organic-crew"))
    with pytest.raises(CatalogError, match="duplicate id 'tee-organic-crew'"):
        load_catalog_from(data_copy, manifest_path=None)
    _edit(data_copy, "shoes.json", 0, lambda p: p.update(id="runner-sneaker-men"))
    _edit(data_copy, "bundles.json", 0, lambda p: p["bundle_items"][0].update(product="ghost"))
    with pytest.raises(CatalogError, match=r"bundles\.json.*unknown product 'ghost'"):
        load_catalog_from(data_copy, manifest_path=None)
    (data_copy / "zz.json").write_text("{not json")
    with pytest.raises(CatalogError, match=r"zz\.json: not valid JSON"):
        load_catalog_from(data_copy, manifest_path=None)


def test_furniture_without_dimensions_is_rejected(data_copy):
    _edit(data_copy, "furniture.json", 0, lambda p: p.pop("dimensions_cm"))
    pattern = r"furniture\.json: products\[0\] \('sofa-3-seat'\)\.dimensions_cm: is missing"
    with pytest.raises(CatalogError, match=pattern):
        load_catalog_from(data_copy, manifest_path=None)

"""The shop service: shoppers, bags, checkouts, orders, wardrobes, on the storage interface.

It runs the checkout state machine (server/commerce/checkout.py) and carries out its effects: stock
reservations in storage, charges with the payments provider. Every checkout transition is saved with
compare-and-set on the checkout document before its effects run, so two racing requests (a confirm and an
expiry, two retries) can never both take one transition; stock itself is settled exactly once by storage.
Async and free of HTTP: the API module is a thin adapter, and tests drive this class directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from server import limits
from server.commerce.catalog import Catalog, Product
from server.commerce.checkout import (
    PAYMENT_WINDOW_S,
    TERMINAL,
    Charge,
    Checkout,
    CheckoutError,
    Commit,
    Effect,
    Line,
    Release,
    Reserve,
    State,
    Void,
)
from server.commerce.payments import PaymentProvider, PaymentUnavailable
from server.storage import OutOfStock, Storage, VersionConflict

log = logging.getLogger(__name__)
FREE_SHIPPING_FROM_MINOR = 5000
SHIPPING_MINOR = 490
PICKUP_STORES = ("boutique", "space-market", "fairy-beauty")
ADDRESS_FIELDS = {"name": 80, "line1": 120, "line2": 120, "city": 80, "postal_code": 16, "country": 2}


class ShopError(Exception):
    """A refusal with a stable code and a status for the HTTP adapter."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sku_of(product_id: str, variant_id: str) -> str:
    return f"{product_id}/{variant_id}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def lines_fingerprint(lines: list[dict[str, Any]]) -> str:
    """What a checkout of these bag lines fixed: their items and quantities (not who is paying for them)."""
    return _hash(json.dumps(sorted((li["line_id"], li["product_id"], li["variant_id"], li["quantity"])
                                   for li in lines)))


class Shop:
    def __init__(self, storage: Storage, catalog: Catalog, payments: PaymentProvider,
                 clock: Callable[[], float] = time.time) -> None:
        self.storage, self.catalog, self.payments, self.clock = storage, catalog, payments, clock
        self.on_stock_change: Callable[[dict[str, int]], None] | None = None  # the room tells shoppers
        # A checkout opened, moved or ended (the gesture recogniser arms and disarms on it).
        self.on_checkout_change: Callable[[Checkout], None] | None = None
        # A bag changed: (bag key, shopper who changed it); shared bags tell their group.
        self.on_bag_change: Callable[[str, str | None], None] | None = None
        self.coupons: Any = None  # server.promotions.coupons.CouponBook once promotions are mounted
        # Told ("placed" or "refunded", order) once per order and event (referral rewards follow orders).
        self.order_listeners: list[Callable[[str, dict[str, Any]], Awaitable[None]]] = []
        self.bag_listeners: list[Callable[[str, str], None]] = []  # (who added, product): store analytics

    # ------------------------------------------------------------------ stock
    async def seed_stock(self) -> None:
        levels = {sku_of(p.id, v.id): v.stock for p in self.catalog.products.values() for v in p.variants}
        await self.storage.seed_stock(levels)

    async def levels(self, product: Product) -> dict[str, int]:
        """Live stock per variant (the catalog API's StockSource)."""
        found = await self.storage.stock([sku_of(product.id, v.id) for v in product.variants])
        return {v.id: max(0, found[sku_of(product.id, v.id)]) for v in product.variants}

    async def stock_changed(self, skus: list[str]) -> None:
        if self.on_stock_change is not None and skus:
            self.on_stock_change(await self.storage.stock(skus))

    # ------------------------------------------------------------------ shoppers
    async def create_shopper(self, name: str, address: str | None = None) -> dict[str, str]:
        """A new shopper identity; `address` (the client's) is kept only as a hash, to spot self-referrals."""
        shopper_id = "s_" + secrets.token_urlsafe(9)
        secret = secrets.token_urlsafe(24)
        record = {"name": name, "key_hash": _hash(secret), "created_at": self.clock()}
        if address:
            record["created_from"] = _hash("plaza-address:" + address)
        await self.storage.put("shopper", shopper_id, record, 0)
        return {"shopper_id": shopper_id, "shopper_key": f"{shopper_id}.{secret}", "name": name}

    async def authenticate(self, shopper_key: str | None) -> str:
        """The shopper id of an `X-Shopper-Key` (`<id>.<secret>`), or ShopError 401."""
        shopper_id, _, secret = (shopper_key or "").partition(".")
        doc = await self.storage.get("shopper", shopper_id) if shopper_id and secret else None
        if doc is None or not hmac.compare_digest(doc.value["key_hash"], _hash(secret)):
            raise ShopError(401, "shopper_unknown", "send the X-Shopper-Key you were given (POST /api/shoppers)")
        return shopper_id

    async def shopper(self, shopper_id: str) -> dict[str, Any]:
        doc = await self.storage.get("shopper", shopper_id)
        return {"shopper_id": shopper_id, "name": doc.value["name"] if doc else ""}

    # ------------------------------------------------------------------ idempotency
    async def idempotent(self, shopper_id: str, key: str | None, request: dict[str, Any],
                         run: Callable[[], Awaitable[tuple[int, dict[str, Any]]]]) -> tuple[int, dict[str, Any]]:
        """Run a state-changing request once per (shopper, key): a retry gets the first answer, the same key
        with another request is refused (422), and one still running answers 409."""
        if not key:
            raise ShopError(400, "idempotency_key_missing", "state-changing requests need an Idempotency-Key header")
        if len(key) > limits.get("max_idempotency_key_chars"):
            raise ShopError(400, "idempotency_key_too_long", "the Idempotency-Key is too long")
        fingerprint = _hash(json.dumps(request, sort_keys=True, default=str))
        record_key = f"{shopper_id}:{_hash(key)}"
        ttl = limits.get("idempotency_key_ttl_s")
        try:
            await self.storage.put("idem", record_key, {"fingerprint": fingerprint, "state": "running"}, 0, ttl_s=ttl)
        except VersionConflict:
            doc = await self.storage.get("idem", record_key)
            if doc is None:  # expired in between: treat as new
                return await self.idempotent(shopper_id, key, request, run)
            if doc.value["fingerprint"] != fingerprint:
                raise ShopError(422, "idempotency_key_reused",
                                "this Idempotency-Key was used for a different request") from None
            if doc.value["state"] == "running":
                raise ShopError(409, "request_in_progress",
                                "the first request with this key is still running") from None
            return doc.value["status"], doc.value["body"]
        try:
            status, body = await run()
        except ShopError as exc:
            status, body = exc.status, {"code": exc.code, "detail": exc.message, "error": True}
        except Exception:
            await self.storage.delete("idem", record_key)  # unexpected: let a retry run it again
            raise
        await self.storage.put("idem", record_key, {"fingerprint": fingerprint, "state": "done", "status": status,
                                                    "body": body}, 1, ttl_s=ttl)
        return status, body

    # ------------------------------------------------------------------ the bag
    def _product(self, product_id: str, variant_id: str) -> Product:
        product = self.catalog.get(product_id)
        if product is None or product.variant(variant_id) is None:
            raise ShopError(404, "no_such_item", f"no item {product_id!r} in option {variant_id!r}")
        return product

    async def _bag_doc(self, shopper_id: str) -> tuple[int, dict[str, Any]]:
        doc = await self.storage.get("bag", shopper_id)
        return (doc.version, doc.value) if doc else (0, {"lines": []})

    async def _edit_bag(self, bag_key: str, change: Callable[[dict[str, Any]], None],
                        by: str | None = None) -> dict[str, Any]:
        """Change a bag under compare-and-set (a shopper's own, keyed by shopper id, or a group's `group:<id>`)."""
        for _ in range(50):
            version, bag = await self._bag_doc(bag_key)
            bag = json.loads(json.dumps(bag))
            change(bag)
            try:
                await self.storage.put("bag", bag_key, bag, version, owner=bag_key)
            except VersionConflict:
                continue
            self._bag_changed(bag_key, by)
            return await self.bag(bag_key)
        raise ShopError(409, "bag_busy", "the bag is being changed elsewhere; try again")

    def _bag_changed(self, bag_key: str, by: str | None) -> None:
        if self.on_bag_change is not None:
            try:
                self.on_bag_change(bag_key, by)
            except Exception:
                log.exception("bag listener failed")

    async def add_to_bag(self, shopper_id: str, product_id: str, variant_id: str, quantity: int,
                         added_by: str | None = None) -> dict[str, Any]:
        product = self._product(product_id, variant_id)
        max_qty = int(limits.get("max_line_quantity"))
        if not 1 <= quantity <= max_qty:
            raise ShopError(422, "bad_quantity", f"a line holds 1 to {max_qty} units")
        available = (await self.storage.stock([sku_of(product_id, variant_id)]))[sku_of(product_id, variant_id)]

        def add(bag: dict[str, Any]) -> None:
            currencies = {self.catalog.get(li["product_id"]).currency for li in bag["lines"]
                          if self.catalog.get(li["product_id"])}
            if currencies and product.currency not in currencies:
                raise ShopError(409, "mixed_currency", "one bag is paid in one currency")
            adder = added_by or shopper_id  # in a shared bag, each member's lines stay theirs
            line = next((li for li in bag["lines"] if li["product_id"] == product_id
                         and li["variant_id"] == variant_id and li.get("added_by", shopper_id) == adder), None)
            if line is None:
                if len(bag["lines"]) >= limits.get("max_bag_lines"):
                    raise ShopError(409, "bag_full", f"a bag holds {int(limits.get('max_bag_lines'))} items")
                line = {"line_id": "l_" + secrets.token_urlsafe(6), "product_id": product_id,
                        "variant_id": variant_id, "quantity": 0, "added_by": added_by or shopper_id}
                bag["lines"].append(line)
            if line["quantity"] + quantity > max_qty:
                raise ShopError(422, "bad_quantity", f"a line holds at most {max_qty} units")
            if line["quantity"] + quantity > available:
                raise ShopError(409, "out_of_stock", f"only {max(available, 0)} left of {product.name}")
            line["quantity"] += quantity

        bag = await self._edit_bag(shopper_id, add, by=added_by or shopper_id)
        for listener in self.bag_listeners:
            listener(added_by or shopper_id, product_id)
        return bag

    async def set_quantity(self, shopper_id: str, line_id: str, quantity: int, by: str | None = None
                           ) -> dict[str, Any]:
        max_qty = int(limits.get("max_line_quantity"))
        if not 0 <= quantity <= max_qty:
            raise ShopError(422, "bad_quantity", f"a line holds 0 to {max_qty} units (0 removes it)")

        def change(bag: dict[str, Any]) -> None:
            line = next((li for li in bag["lines"] if li["line_id"] == line_id), None)
            if line is None:
                raise ShopError(404, "no_such_line", "that line is not in the bag")
            if quantity == 0:
                bag["lines"].remove(line)
            else:
                line["quantity"] = quantity

        return await self._edit_bag(shopper_id, change, by=by or shopper_id)

    async def bag(self, shopper_id: str) -> dict[str, Any]:
        """The bag with live prices and stock."""
        version, bag = await self._bag_doc(shopper_id)
        skus = [sku_of(li["product_id"], li["variant_id"]) for li in bag["lines"]]
        stock = await self.storage.stock(skus)
        lines, total, currency = [], 0, None
        for li in bag["lines"]:
            product = self.catalog.get(li["product_id"])
            if product is None:
                continue
            variant = product.variant(li["variant_id"])
            sku = sku_of(product.id, li["variant_id"])
            currency = product.currency
            total += product.price_minor * li["quantity"]
            stored = {k: v for k, v in li.items() if k != "checkout"}  # a claim mark is the shop's business
            lines.append(stored | {"name": product.name, "kind": product.kind, "option": variant.key if variant else "",
                                   "unit_minor": product.price_minor,
                                   "total_minor": product.price_minor * li["quantity"],
                                   "available": max(0, stock.get(sku, 0)), "model_url": product.model_url})
        return {"version": version, "lines": lines, "currency": currency, "total_minor": total}

    # ------------------------------------------------------------------ checkout
    def _delivery(self, lines: list[Line], delivery: dict[str, Any] | None, goods_minor: int
                  ) -> tuple[dict[str, Any] | None, int]:
        physical = any(li.kind in ("physical", "bundle") for li in lines)
        if not physical:
            return None, 0
        if not isinstance(delivery, dict) or delivery.get("type") not in ("pickup", "address"):
            raise ShopError(422, "delivery_needed", "physical goods need delivery: pickup at a store or an address")
        if delivery["type"] == "pickup":
            if delivery.get("store") not in PICKUP_STORES:
                raise ShopError(422, "bad_pickup_store", f"pick up at one of: {', '.join(PICKUP_STORES)}")
            return {"type": "pickup", "store": delivery["store"]}, 0
        address = delivery.get("address") or {}
        clean: dict[str, str] = {}
        for name, max_len in ADDRESS_FIELDS.items():
            value = address.get(name, "")
            if not isinstance(value, str) or len(value) > max_len or (name != "line2" and not value.strip()):
                raise ShopError(422, "bad_address", f"the address needs a {name.replace('_', ' ')} "
                                                    f"(at most {max_len} characters)")
            clean[name] = value.strip()
        if not (len(clean["country"]) == 2 and clean["country"].isalpha()):
            raise ShopError(422, "bad_address", "the country is a two-letter code such as DE or FR")
        shipping = 0 if goods_minor >= FREE_SHIPPING_FROM_MINOR else SHIPPING_MINOR
        return {"type": "address", "address": clean}, shipping

    async def open_checkout(self, shopper_id: str, payment_method: str, delivery: dict[str, Any] | None,
                            bag_key: str | None = None, only_added_by: str | None = None,
                            coupon: str | None = None) -> dict[str, Any]:
        """Fix the total of the shopper's bag, or of a shared bag (`bag_key`; `only_added_by`: just the lines
        that member added), and hold its stock."""
        if not self.payments.accepts(payment_method):
            raise ShopError(422, "bad_payment_method", "unknown payment method (see docs/COMMERCE.md)")
        bag = await self.bag(bag_key or shopper_id)
        chosen = [li for li in bag["lines"] if only_added_by is None or li.get("added_by") == only_added_by]
        lines = [Line(sku_of(li["product_id"], li["variant_id"]), li["product_id"], li["variant_id"], li["name"],
                      li["kind"], li["quantity"], li["unit_minor"]) for li in chosen]
        goods = sum(li.total_minor for li in lines)
        fixed_delivery, shipping = self._delivery(lines, delivery, goods)
        checkout_id = "c_" + secrets.token_urlsafe(9)
        try:
            checkout, effects = Checkout.open(checkout_id, shopper_id, lines, bag["currency"] or "EUR",
                                              payment_method, fixed_delivery, shipping, self.clock())
        except CheckoutError as exc:
            raise ShopError(409, exc.code, exc.message) from None
        checkout.bag_version = bag["version"]
        if bag_key is not None:
            checkout.bag_key, checkout.line_ids = bag_key, [li["line_id"] for li in chosen]
            checkout.lines_fingerprint = lines_fingerprint(chosen)
        if coupon is not None:
            if self.coupons is None:
                raise ShopError(409, "coupons_unavailable", "coupons cannot be used right now")
            checkout.discount_minor = await self.coupons.quote(coupon, lines, checkout.currency, shopper_id)
            checkout.coupon = coupon.strip().upper()
        # Saved before the lines and the coupon are claimed, so a racing checkout that sees a claim can see it
        # is live.
        await self.storage.put("checkout", checkout_id, checkout.to_dict(), 0, owner=shopper_id)
        try:
            if bag_key is not None:
                await self._claim_lines(bag_key, checkout)
            if checkout.coupon is not None:
                await self.coupons.claim(checkout.coupon, checkout_id, lines, checkout.currency, shopper_id)
        except ShopError as exc:
            checkout.state, checkout.reason = State.FAILED, exc.code
            await self.storage.put("checkout", checkout_id, checkout.to_dict(), 1)
            raise
        await self._run(checkout, 1, effects)
        final = (await self._load(checkout_id, shopper_id))[1]
        self._changed(final)
        return final.view()

    async def _claim_lines(self, bag_key: str, checkout: Checkout) -> None:
        """Mark a shared bag's lines as being paid by this checkout; refused while another live checkout has
        any of them (two friends cannot both pay for one jacket)."""
        wanted = set(checkout.line_ids)
        for _ in range(50):
            version, bag = await self._bag_doc(bag_key)
            current = [li for li in bag["lines"] if li["line_id"] in wanted]
            if lines_fingerprint(current) != checkout.lines_fingerprint:
                raise ShopError(409, "bag_changed", "the bag changed while checkout opened; try again")
            for mark in {li.get("checkout") for li in current} - {None, checkout.id}:
                if await self.checkout_live(mark):
                    raise ShopError(409, "lines_in_checkout", "someone in your group is paying for some of these "
                                                              "items; wait until they finish")
            for li in current:
                li["checkout"] = checkout.id
            try:
                await self.storage.put("bag", bag_key, bag, version, owner=bag_key)
            except VersionConflict:
                continue
            self._bag_changed(bag_key, checkout.shopper_id)
            return
        raise ShopError(409, "bag_busy", "the bag is being changed elsewhere; try again")

    def _changed(self, checkout: Checkout) -> None:
        if self.on_checkout_change is not None:
            try:
                self.on_checkout_change(checkout)
            except Exception:
                log.exception("checkout listener failed")

    async def _load(self, checkout_id: str, shopper_id: str | None = None) -> tuple[int, Checkout]:
        doc = await self.storage.get("checkout", checkout_id)
        if doc is None or (shopper_id is not None and doc.value["shopper_id"] != shopper_id):
            raise ShopError(404, "no_such_checkout", "no such checkout")
        return doc.version, Checkout.from_dict(doc.value)

    async def _transition(self, checkout_id: str, shopper_id: str | None,
                          step: Callable[[Checkout], list[Effect]]) -> Checkout:
        """Apply one machine step under compare-and-set, then carry out its effects."""
        for _ in range(20):
            version, checkout = await self._load(checkout_id, shopper_id)
            try:
                effects = step(checkout)
            except CheckoutError as exc:
                raise ShopError(409, exc.code, exc.message) from None
            try:
                await self.storage.put("checkout", checkout_id, checkout.to_dict(), version)
            except VersionConflict:
                continue  # someone else moved it first: look again
            await self._run(checkout, version + 1, effects)
            final = (await self._load(checkout_id))[1]
            self._changed(final)
            return final
        raise ShopError(409, "checkout_busy", "this checkout is changing; try again")

    async def _run(self, checkout: Checkout, version: int, effects: list[Effect]) -> None:
        """Carry out effects; outcomes feed the machine again (saved with CAS on `version`)."""
        for effect in effects:
            if isinstance(effect, Reserve):
                try:
                    await self.storage.reserve(checkout.id, effect.lines, effect.expires_at)
                    follow = checkout.reserved(self.clock())
                except OutOfStock as exc:
                    follow = checkout.out_of_stock(exc.sku, self.clock())
                version = await self._save(checkout, version)
                await self.stock_changed(list(effect.lines))
                await self._run(checkout, version, follow)
            elif isinstance(effect, Release):
                if await self.storage.release(checkout.id):
                    await self.stock_changed([li.sku for li in checkout.lines])
            elif isinstance(effect, Commit):
                if not await self.storage.commit(checkout.id):
                    log.error("checkout %s was paid but its reservation was not held", checkout.id)
                await self._place_order(checkout)
            elif isinstance(effect, Void):
                await self.payments.void(effect.idempotency_key)
            elif isinstance(effect, Charge):
                await self._charge(checkout, version, effect)

    async def _save(self, checkout: Checkout, version: int) -> int:
        await self.storage.put("checkout", checkout.id, checkout.to_dict(), version)
        return version + 1

    async def _charge(self, checkout: Checkout, version: int, charge: Charge) -> None:
        # Confirmed: the stock stays held while the provider answers (the sweeper sees `paying` and retries).
        await self.storage.extend(checkout.id, self.clock() + PAYMENT_WINDOW_S + 30)
        try:
            result = await self.payments.charge(charge.idempotency_key, charge.amount_minor, charge.currency,
                                                checkout.payment_method)
        except PaymentUnavailable:
            return  # stays paying; the sweeper retries with the same key
        if result.status not in ("succeeded", "declined", "requires_action"):
            return  # pending: the sweeper asks again
        for _ in range(20):
            now = self.clock()
            if checkout.state is not State.PAYING:
                # Moved on elsewhere (the payment window ran out and it was voided): money taken late goes back.
                if result.status == "succeeded" and checkout.state is not State.PLACED:
                    await self.payments.refund(charge.idempotency_key, charge.amount_minor)
                return
            if result.status == "succeeded":
                follow = checkout.paid(now, result.as_dict())
            elif result.status == "declined":
                follow = checkout.declined(now, result.reason or "declined", result.as_dict())
            else:
                follow = checkout.needs_action(result.as_dict())
            try:
                version = await self._save(checkout, version)
            except VersionConflict:
                version, checkout = await self._load(checkout.id)
                continue
            await self._run(checkout, version, follow)
            return

    async def _place_order(self, checkout: Checkout) -> None:
        order = {"id": checkout.id, "shopper_id": checkout.shopper_id, "state": "paid", "placed_at": self.clock(),
                 **{k: v for k, v in checkout.view().items() if k in (
                     "lines", "currency", "goods_minor", "shipping_minor", "discount_minor", "coupon", "total_minor",
                     "delivery")}}
        try:
            await self.storage.put("order", checkout.id, order, 0, owner=checkout.shopper_id)
        except VersionConflict:
            return  # placed before (a retry): nothing more to do
        if checkout.coupon is not None and self.coupons is not None:
            await self.coupons.redeem(checkout.coupon, checkout.id, checkout.id)
        await self.order_event("placed", order)
        await self.deliver_virtual(checkout.shopper_id, checkout.lines, checkout.id)
        if checkout.bag_key is not None:  # a shared bag: exactly the lines this checkout covered
            paid_for = set(checkout.line_ids)
            await self._edit_bag(checkout.bag_key, lambda bag: bag.__setitem__("lines", [
                li for li in bag["lines"] if li["line_id"] not in paid_for]), by=checkout.shopper_id)
            return
        bought = {li.sku for li in checkout.lines}
        await self._edit_bag(checkout.shopper_id, lambda bag: bag.__setitem__("lines", [
            li for li in bag["lines"] if sku_of(li["product_id"], li["variant_id"]) not in bought]))

    async def deliver_virtual(self, shopper_id: str, lines: list[Line], order_id: str) -> None:
        """Virtual goods (and the virtual parts of bundles) arrive in the wardrobe at once."""
        items = [{"product_id": li.product_id, "variant_id": li.variant_id, "order_id": order_id}
                 for li in lines if li.kind == "virtual"]
        for li in lines:
            product = self.catalog.get(li.product_id) if li.kind == "bundle" else None
            for part in product.bundle_items if product else ():
                part_product = self.catalog.get(part["product"])
                if part_product is not None and part_product.kind == "virtual":
                    items.append({"product_id": part_product.id, "variant_id": part_product.variants[0].id,
                                  "order_id": order_id})
        if items:
            await self._edit_doc("wardrobe", shopper_id, lambda w: w.setdefault("items", []).extend(items))

    async def _edit_doc(self, kind: str, key: str, change: Callable[[dict[str, Any]], None]) -> None:
        while True:
            doc = await self.storage.get(kind, key)
            value = json.loads(json.dumps(doc.value)) if doc else {}
            change(value)
            try:
                await self.storage.put(kind, key, value, doc.version if doc else 0, owner=key)
                return
            except VersionConflict:
                continue

    # ------------------------------------------------------------------ shopper actions on a checkout
    async def checkout_live(self, checkout_id: str) -> bool:
        """Is this checkout still open (holding what it claimed)?"""
        doc = await self.storage.get("checkout", checkout_id)
        return doc is not None and State(doc.value["state"]) not in TERMINAL

    async def checkout(self, shopper_id: str, checkout_id: str) -> dict[str, Any]:
        return (await self._load(checkout_id, shopper_id))[1].view()

    async def _bag_unchanged(self, shopper_id: str, checkout: Checkout) -> None:
        if checkout.bag_key is not None:
            _, bag = await self._bag_doc(checkout.bag_key)
            current = [li for li in bag["lines"] if li["line_id"] in set(checkout.line_ids)]
            if (lines_fingerprint(current) != checkout.lines_fingerprint
                    or any(li.get("checkout") != checkout.id for li in current)):
                raise ShopError(409, "bag_changed", "the items changed since checkout opened; open checkout again")
            return
        version, _ = await self._bag_doc(shopper_id)
        if version != checkout.bag_version:
            raise ShopError(409, "bag_changed", "the bag changed since checkout opened; open checkout again")

    async def hold(self, shopper_id: str, checkout_id: str, action: str) -> dict[str, Any]:
        now = self.clock()
        _, current = await self._load(checkout_id, shopper_id)
        if action == "end":
            await self._bag_unchanged(shopper_id, current)
        step = (lambda c: c.hold_start(now)) if action == "start" else (lambda c: c.hold_end(now))
        return (await self._transition(checkout_id, shopper_id, step)).view()

    async def confirm(self, shopper_id: str, checkout_id: str) -> dict[str, Any]:
        """Confirmation from a server-side recogniser (the gesture issue); never exposed to clients."""
        _, current = await self._load(checkout_id, shopper_id)
        await self._bag_unchanged(shopper_id, current)
        return (await self._transition(checkout_id, shopper_id, lambda c: c.confirm(self.clock()))).view()

    async def cancel(self, shopper_id: str, checkout_id: str) -> dict[str, Any]:
        return (await self._transition(checkout_id, shopper_id, lambda c: c.cancel(self.clock()))).view()

    async def payment_action(self, shopper_id: str, checkout_id: str, code: str) -> dict[str, Any]:
        version, checkout = await self._load(checkout_id, shopper_id)
        if checkout.state is not State.PAYING or checkout.payment.get("status") != "requires_action":
            raise ShopError(409, "no_action_pending", "this payment needs no further step")
        result = await self.payments.complete_action(f"checkout:{checkout.id}", code)
        now = self.clock()
        follow = (checkout.paid(now, result.as_dict()) if result.status == "succeeded"
                  else checkout.declined(now, result.reason or "declined", result.as_dict()))
        try:
            version = await self._save(checkout, version)
        except VersionConflict:
            return (await self._load(checkout_id))[1].view()
        await self._run(checkout, version, follow)
        return (await self._load(checkout_id))[1].view()

    # ------------------------------------------------------------------ the sweeper
    async def sweep(self) -> int:
        """Release what expired, retry payments left pending; safe to run in every process at once."""
        now = self.clock()
        done = 0
        for reservation_id in await self.storage.expired_reservations(now):
            doc = await self.storage.get("checkout", reservation_id)
            if doc is None:  # a reservation without its checkout (a crash between the two): return the units
                done += await self.storage.release(reservation_id)
                continue
            checkout = Checkout.from_dict(doc.value)
            if checkout.state is State.PAYING:
                await self._retry_payment(doc.version, checkout)
            elif checkout.state is State.PLACED:
                await self.storage.commit(reservation_id)
            elif checkout.state in (State.AWAITING, State.RESERVING):
                await self._transition(reservation_id, None, lambda c: c.expire(max(now, c.deadline)))
            else:
                await self.storage.release(reservation_id)
            done += 1
        return done

    async def _retry_payment(self, version: int, checkout: Checkout) -> None:
        now = self.clock()
        follow = checkout.expire(now)
        if follow:  # the payment window is over: void and release
            try:
                version = await self._save(checkout, version)
            except VersionConflict:
                return
            await self._run(checkout, version, follow)
            return
        await self.storage.extend(checkout.id, now + 30)
        if checkout.payment.get("status") != "requires_action":
            await self._charge(checkout, version, Charge(checkout.total_minor, checkout.currency,
                                                         f"checkout:{checkout.id}"))

    # ------------------------------------------------------------------ orders
    async def orders(self, shopper_id: str) -> list[dict[str, Any]]:
        found = []
        for order_id in await self.storage.owned("order", shopper_id):
            doc = await self.storage.get("order", order_id)
            if doc is not None:
                found.append(doc.value)
        return found

    async def order(self, shopper_id: str, order_id: str) -> dict[str, Any]:
        doc = await self.storage.get("order", order_id)
        if doc is None or doc.value["shopper_id"] != shopper_id:
            raise ShopError(404, "no_such_order", "no such order")
        return doc.value

    async def wardrobe(self, shopper_id: str) -> dict[str, Any]:
        doc = await self.storage.get("wardrobe", shopper_id)
        return {"items": doc.value.get("items", []) if doc else []}

    async def refund(self, order_id: str) -> dict[str, Any]:
        """The owner's refund: money back, stock back, virtual goods revoked; once."""
        while True:
            doc = await self.storage.get("order", order_id)
            if doc is None:
                raise ShopError(404, "no_such_order", "no such order")
            if doc.value["state"] == "refunded":
                await self.order_event("refunded", doc.value)  # listeners are idempotent: a retry completes them
                return doc.value
            try:
                await self.storage.put("order", order_id, doc.value | {"state": "refunded"}, doc.version)
                break
            except VersionConflict:
                continue
        order = doc.value
        # A checkout's charge is keyed by the checkout; other orders (team buys) name their charge.
        await self.payments.refund(order.get("charge_key", f"checkout:{order_id}"), order["total_minor"])
        for line in order["lines"]:
            await self.storage.restock(line["sku"], line["quantity"])
        await self.stock_changed([line["sku"] for line in order["lines"]])
        await self._edit_doc("wardrobe", order["shopper_id"], lambda w: w.__setitem__(
            "items", [i for i in w.get("items", []) if i["order_id"] != order_id]))
        final = (await self.storage.get("order", order_id)).value
        await self.order_event("refunded", final)
        return final

    async def order_event(self, event: str, order: dict[str, Any]) -> None:
        """Tell the order listeners; each is idempotent, and one failing does not stop the others."""
        for listener in self.order_listeners:
            try:
                await listener(event, order)
            except Exception:
                log.exception("order listener failed on %s of %s", event, order.get("id"))

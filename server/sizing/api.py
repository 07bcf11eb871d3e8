"""HTTP API of try-on sizing (/api/sizing). A thin adapter: validation, storage calls, JSON shapes.

Endpoints are plain `def`: FastAPI runs them in its thread pool, so SQLite and the Monte Carlo stay off
the event loop. Nothing here logs request bodies; body data only reaches SQLite with consent.
"""

from __future__ import annotations

import importlib
import reprlib
import time
from collections.abc import Callable, Coroutine, Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, Strict, StrictBool

from server import limits
from server.net.problems import Problem, extra_members, field_messages, responses
from server.sizing.body_model import VARIABLES
from server.sizing.charts import FIT_STYLES, ChartError, list_charts, load_chart
from server.sizing.defaults import default_model
from server.sizing.feedback import Feedback, regions_for, size_lean
from server.sizing.furniture import furniture_fit
from server.sizing.limiter import AddressLimiter, retry_after
from server.sizing.measurements import DESCRIPTIONS, check_measurements, unit_of
from server.sizing.profiles import ProfileNotFound, ProfileStore
from server.sizing.service import answer, belief_for, feedback_message

Sex = Literal["male", "female"]
FitStyle = Literal["fitted", "regular", "loose", "stretch"]
Verdict = Literal["fits", "too_tight", "too_loose", "too_short", "too_long", "too_small", "too_big"]
OwnerKey = Annotated[str | None, Header(alias="X-Owner-Key", max_length=128,
                                         description="The secret owner key of the profile.")]
ProfileId = Annotated[str, PathParam(max_length=64, description="The profile id you got when it was created.")]
ChartId = Annotated[str, PathParam(max_length=64, description="Size chart id, e.g. tops-men.")]
# Numbers are JSON numbers, booleans JSON booleans, as documented: "170" or 0 for true are refused, not coerced.
Number = Annotated[float, Strict()]
# Bounds on free-text fields: an id is short, and an error message may quote it.
ID_CHARS, SIZE_CHARS = 64, 16
ShopperKeyHeader = Annotated[str | None, Header(alias="X-Shopper-Key", max_length=128,
                                                description="The page's shopper key (optional): a product's "
                                                "size request then counts as a try-on in the store's analytics")]


def shopper_problem(status: int, code: str, message: str, problems: list[dict[str, str]] | None = None,
                    headers: dict[str, str] | None = None) -> Problem:
    """An error whose sentences are written for the shopper: `detail`, and per field in `errors[].message`."""
    errors = [{"code": code, **p} for p in problems or []]
    return Problem(status, code, message, errors=errors, headers=headers)


class PrivateRoute(APIRoute):
    """Responses about a body are never stored by a browser or a proxy (`Cache-Control: no-store`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def private(request: Request) -> Response:
            response = await handler(request)
            response.headers["Cache-Control"] = "no-store"
            return response

        return private


router = APIRouter(prefix="/api/sizing", tags=["sizing"], route_class=PrivateRoute)
public = APIRouter(prefix="/api/sizing", tags=["sizing"])  # size charts: the same for everybody


def mount(app: FastAPI) -> None:
    """Add the routes; malformed sizing requests are explained in the shopper's words (as problem details)."""
    app.include_router(router)
    app.include_router(public)
    app.state.plaza.sizing_limiter = AddressLimiter(int(limits.get("profiles_per_address_per_min")), 60.0)
    field_messages(app, router.prefix, _problem)
    extra_members(app, router.prefix, _legacy_members)


def _legacy_members(body: dict[str, Any]) -> dict[str, Any]:
    """Deprecated: the try-on client (webxr_client/src/tryon/sizing_api.js, errorFrom) still reads the old
    `{error, problems}` shape; these two members repeat `detail` and `errors` until it reads those."""
    return {"error": body["detail"], "problems": [{"field": e["field"], "message": e["message"]}
                                                  for e in body["errors"]]}


_FIELD_WORDS = {"sex": "Body type (sex)", "fit": "The fit style", "verdict": "The remark", "region": "The region",
                "chart_id": "The size chart", "size": "The size", "consent": "Consent", "usual_sizes": "Usual sizes",
                "product_id": "The product", "profile_id": "The profile id", "X-Owner-Key": "The owner key"}
_GIVEN = reprlib.Repr()
_GIVEN.maxstring = _GIVEN.maxother = 30
_GIVEN.maxlist = _GIVEN.maxdict = 3


def _problem(err: Mapping[str, Any]) -> dict[str, str]:
    """One framework validation error in words: which field, what was wrong, what we expect."""
    loc = [str(x) for x in err.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    loc = [x for x in loc if not x.isdigit()] or loc
    field = ".".join(loc)
    name = loc[-1] if loc else ""
    what = f"Your {DESCRIPTIONS[name]}" if name in DESCRIPTIONS else _FIELD_WORDS.get(name, f"'{field[:40]}'")
    given = _GIVEN.repr(err.get("input"))[:40]  # a short quote of the shopper's own value, never the whole input
    ctx = err.get("ctx") or {}
    kind = str(err.get("type", ""))
    if kind == "json_invalid":
        return {"field": "", "message": "We could not read the request: it is not valid JSON."}
    if kind == "missing":
        message = f"{what} is missing."
    elif kind.startswith(("float_", "int_", "finite_")):
        message = f"{what} must be a number (you gave {given})."
    elif kind == "literal_error":
        message = f"{what} must be {ctx.get('expected', 'one of the listed values')} (you gave {given})."
    elif kind == "too_long" or (kind == "string_too_long" and "max_length" in ctx):
        unit = "characters" if kind == "string_too_long" else "items"
        message = f"{what} can {'have' if unit == 'characters' else 'list'} at most {ctx.get('max_length')} {unit}."
    elif kind in ("bool_parsing", "bool_type"):
        message = f"{what} must be true or false (you gave {given})."
    else:
        message = f"{what}: {err.get('msg', 'is not valid')}."
    return {"field": field, "message": message}


# ---- request and response models -------------------------------------------------------------------

def _m(name: str) -> Any:
    return Field(None, description=f"Your {DESCRIPTIONS[name]} in {unit_of(name)}.")


class Body(BaseModel):
    """What the shopper knows of their body. Height and weight at least; everything else sharpens the estimate."""

    sex: Sex | None = Field(None, description="Body type of the size model; leave empty to mix both.")
    age: Number | None = _m("age")
    stature: Number | None = Field(None, description="Your height in cm (required).")
    weight: Number | None = Field(None, description="Your weight in kg (required).")
    chest: Number | None = _m("chest")
    waist: Number | None = _m("waist")
    hips: Number | None = _m("hips")
    shoulder: Number | None = _m("shoulder")
    neck: Number | None = _m("neck")
    inseam: Number | None = _m("inseam")
    sleeve: Number | None = _m("sleeve")
    thigh: Number | None = _m("thigh")
    foot_length: Number | None = _m("foot_length")
    foot_breadth: Number | None = _m("foot_breadth")

    def values(self) -> dict[str, float]:
        return {name: float(v) for name in VARIABLES if (v := getattr(self, name)) is not None}


class MeasurementEstimate(BaseModel):
    mean: float = Field(description="Best estimate (cm; kg for weight; years for age).")
    std: float = Field(description="Uncertainty: one standard deviation, same unit; 0 for values you entered.")
    unit: str
    entered: bool = Field(description="True when you gave this value.")


class UsualSize(BaseModel):
    """A size the shopper knows fits them in some chart: evidence about the body like a "fits" remark."""

    chart_id: str = Field(max_length=ID_CHARS, description="The chart it is in, e.g. tops-unisex.")
    size: str = Field(max_length=SIZE_CHARS, description="The size that fits you there, e.g. M.")
    fit: FitStyle = Field("regular", description="Fit style of the garments you wear in that size.")


class EstimateIn(Body):
    usual_sizes: list[UsualSize] = Field(
        default_factory=list, max_length=5,
        description="Sizes that fit you in other charts (\"I wear M in tops\"); they sharpen the estimate.")


class EstimateOut(BaseModel):
    sex: Sex | None
    estimates: dict[str, MeasurementEstimate]


class RecommendIn(BaseModel):
    body: Body | None = Field(None, description="Your measurements; or give profile_id (and the X-Owner-Key header).")
    profile_id: str | None = Field(None, max_length=ID_CHARS,
                                   description="A stored profile to use, including its fit feedback.")
    chart_id: str | None = Field(None, max_length=ID_CHARS,
                                 description="Size chart id, e.g. tops-men; or give product_id.")
    fit: FitStyle | None = Field(None, description="Fit style of the garment; default regular (or the product's).")
    product_id: str | None = Field(None, max_length=128,
                                   description="Catalog product; its size chart and fit style are used.")
    consent: StrictBool = Field(False,
                                description="True to store your measurements in a profile; otherwise nothing is kept.")
    usual_sizes: list[UsualSize] = Field(
        default_factory=list, max_length=5,
        description="Sizes that fit you in other charts (\"I wear M in tops\"); they sharpen the body estimate. "
                    "Stored as fit remarks when a profile is created with consent.")


class RegionOut(BaseModel):
    region: str = Field(description="Measurement name, e.g. chest.")
    body_cm: float
    body_sd_cm: float = Field(description="Uncertainty of the body value (0 when you measured it).")
    garment_cm: float
    ease_cm: float = Field(description="Garment minus body: room in the garment (negative = it stretches).")
    label: str = Field(description="tight, snug, regular or loose (lengths: short, fine, long).")


class GarmentRegionOut(BaseModel):
    region: str = Field(description="chest, waist, hips, shoulder or length.")
    scale: float = Field(description="Garment size relative to the shopper's body in this region (1.05 = 5 % bigger).")
    ease_cm: float | None
    label: str
    colour: str = Field(description="Heat-map colour, #rrggbb.")
    from_chart: bool = Field(description="False when the chart says nothing here; the garment follows the body.")


class AvatarOut(BaseModel):
    body_scale: dict[str, float] = Field(description="Shopper's body relative to the reference avatar, per region.")
    garment: list[GarmentRegionOut]


class RecommendOut(BaseModel):
    chart_id: str
    fit: FitStyle
    size: str = Field(description="Recommended size.")
    runner_up: str | None = Field(description="Second most likely size.")
    confidence: float = Field(description="Probability that the recommended size is the one your body falls in.")
    probabilities: dict[str, float] = Field(description="Probability of each size.")
    sentence: str = Field(description="The answer in words.")
    regions: list[RegionOut]
    avatar: AvatarOut
    stored: bool = Field(description="True only when you consented and a profile was created.")
    profile_id: str | None = None
    owner_key: str | None = Field(None, description="Shown once: keep it to read or delete your profile.")


class ProfileIn(BaseModel):
    consent: StrictBool = Field(description="Must be true: we keep your measurements only with your consent.")
    body: Body


class ProfileCreated(BaseModel):
    profile_id: str
    owner_key: str = Field(description="Shown once: needed (X-Owner-Key header) to read, update or delete the profile.")


class FeedbackIn(BaseModel):
    chart_id: str = Field(max_length=ID_CHARS, description="Chart of the garment you bought, e.g. tops-men.")
    size: str = Field(max_length=SIZE_CHARS, description="The size you bought, e.g. M.")
    fit: FitStyle = Field("regular", description="The garment's fit style.")
    verdict: Verdict = Field(description="How it fitted.")
    region: str | None = Field(None, max_length=32,
                               description="Where: chest, waist, hips, ... or length; empty = overall.")


class FeedbackOut(BaseModel):
    changed: dict[str, MeasurementEstimate] = Field(description="Your estimate after this feedback, where it moved.")
    message: str = Field(description="What the remark changed, in words: a moved estimate, or (for a region you "
                                     "measured) that your value is kept and your next close calls lean roomier or "
                                     "closer.")
    lean: int = Field(description="Your taste from remarks on regions you measured: >0 = in a close call we pick the "
                                  "larger size, <0 = the smaller (-2..2).")


class Box(BaseModel):
    width: Number = Field(description="cm")
    depth: Number = Field(description="cm")
    height: Number = Field(description="cm")


class Doorway(BaseModel):
    width: Number = Field(description="cm")
    height: Number = Field(description="cm")


class FurnitureIn(BaseModel):
    room: Box = Field(description="The free floor area and ceiling height where the item goes.")
    doorway: Doorway = Field(description="The narrowest doorway on the way in.")
    item: Box | None = Field(None, description="The item's size; or give product_id.")
    product_id: str | None = Field(None, max_length=128)


class FurnitureOut(BaseModel):
    fits: bool
    fits_room: bool
    room_orientation: str
    room_clearance_cm: dict[str, float]
    passes_door: bool
    door_method: str = Field(description="upright, on its side, tilted diagonally, or does not pass.")
    door_clearance_cm: float
    messages: list[str]


# ---- helpers ----------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _store_for(data_dir: str) -> ProfileStore:
    return ProfileStore(data_dir)


def _store(request: Request) -> ProfileStore:
    return _store_for(str(request.app.state.plaza.settings.data_dir))


def _checked_body(body: Body | None) -> tuple[str | None, dict[str, float]]:
    if body is None:
        raise shopper_problem(400, "missing_body", "Please tell us at least your height and weight.")
    values = body.values()
    problems = [{"field": p.field, "message": p.message} for p in check_measurements(values)]
    for name in ("stature", "weight"):
        if name not in values:
            problems.append({"field": name, "message": f"Please tell us your {DESCRIPTIONS[name]}."})
    if problems:
        raise shopper_problem(422, "impossible_body", " ".join(p["message"] for p in problems), problems)
    return body.sex, values


def _chart(chart_id: str, status: int = 400):
    try:
        return load_chart(chart_id)
    except ChartError as exc:
        raise shopper_problem(status, "chart_not_found" if status == 404 else "unknown_chart", str(exc)) from None


def _product(product_id: str) -> Any:
    try:
        catalog = importlib.import_module("server.commerce.catalog")
        product = catalog.load_catalog().get(product_id)
    except ModuleNotFoundError:
        raise shopper_problem(400, "no_catalog",
                              "Products cannot be looked up yet; please give chart_id and fit instead.") from None
    except Exception:  # the catalog's own data errors are not the shopper's to read
        raise shopper_problem(503, "catalog_unavailable",
                              "The product catalog is unavailable right now; please give chart_id and fit.") from None
    if product is None:
        raise shopper_problem(404, "product_not_found", f"There is no product '{product_id}'.")
    return product


def _estimates(belief: Any, entered: dict[str, float], names: Any = VARIABLES) -> dict[str, MeasurementEstimate]:
    out = {}
    for name in names:
        m = belief.marginal(name)
        known = name in entered
        out[name] = MeasurementEstimate(
            mean=round(entered.get(name, m.mean), 2), std=0.0 if known else round(m.std, 2), unit=unit_of(name),
            entered=known,
        )
    return out


def _usual_sizes(items: list[UsualSize]) -> list[Feedback]:
    """Usual sizes as "fits" remarks on the whole garment, checked against their charts."""
    out = []
    for item in items:
        chart = _chart(item.chart_id)
        try:
            chart.index_of(item.size)
        except ChartError as exc:
            raise shopper_problem(400, "unknown_size", str(exc)) from None
        out.append(Feedback(chart_id=chart.id, size=item.size, fit=item.fit, verdict="fits"))
    return out


def _profile(request: Request, profile_id: str, owner_key: str | None):
    if not owner_key:
        raise shopper_problem(401, "owner_key_required",
                              "This profile is private: send its owner key in the X-Owner-Key header.",
                              headers={"WWW-Authenticate": 'OwnerKey realm="sizing profile"'})
    try:
        return _store(request).get(profile_id, owner_key)
    except ProfileNotFound:
        raise shopper_problem(404, "profile_not_found", "No profile with this id and owner key.") from None


def _count_profile_creation(request: Request) -> None:
    """Profiles per client address (limits table: profiles_per_address_per_min); 429 with Retry-After."""
    wait = request.app.state.plaza.sizing_limiter.take(request.client.host if request.client else "?")
    if wait:
        raise shopper_problem(429, "rate_limited",
                              "You have created many profiles in a short time; please wait a moment and try again.",
                              headers={"Retry-After": retry_after(wait)})


# Problem answers beyond the ones every operation documents (400, 413, 422; 404 with a path parameter).
PROFILE_ERRORS = responses(401, 404)
RECOMMEND_ERRORS = responses(401, 404, 429, 503)


# ---- endpoints --------------------------------------------------------------------------------------

@router.post("/estimate", response_model=EstimateOut, summary="Estimate every body measurement")
def estimate(body: EstimateIn) -> Any:
    """From what you know (height and weight at least, usual sizes too), every measurement with its uncertainty."""
    sex, values = _checked_body(body)
    belief = belief_for(default_model(), sex, values, _usual_sizes(body.usual_sizes), load_chart)
    return EstimateOut(sex=sex, estimates=_estimates(belief, values))


@router.post("/recommend", response_model=RecommendOut, responses=RECOMMEND_ERRORS, summary="Recommend a size")
def recommend_size(req: RecommendIn, request: Request, x_owner_key: OwnerKey = None,
                   x_shopper_key: ShopperKeyHeader = None) -> Any:
    """Size for a chart and fit style (or a catalog product), with fit per region and avatar parameters.

    Stores nothing unless `consent` is true."""
    chart_id, fit = req.chart_id, req.fit
    if req.product_id:
        product = _product(req.product_id)
        if not getattr(product, "size_chart", None):
            name = getattr(product, "name", req.product_id)
            raise shopper_problem(400, "not_sized", f"'{name}' is not sold in sizes.")
        chart_id, fit = product.size_chart, fit or getattr(product, "fit", None)
    if not chart_id:
        raise shopper_problem(400, "missing_garment",
                              "Tell us which garment: give chart_id (e.g. tops-men) or product_id.")
    chart = _chart(chart_id)
    fit = fit or "regular"
    if fit not in FIT_STYLES:
        raise shopper_problem(400, "unknown_fit", f"Unknown fit style '{fit}'.")
    model = default_model()
    stored, profile_id, owner_key = False, None, None
    if req.profile_id:
        profile = _profile(request, req.profile_id, x_owner_key)
        sex, values = profile.sex, profile.measurements
        feedback = [f for _, f in profile.feedback]
    else:
        sex, values = _checked_body(req.body)
        feedback = []
    usual = _usual_sizes(req.usual_sizes)
    if not req.profile_id and req.consent:
        _count_profile_creation(request)
        profile_id, owner_key = _store(request).create(sex, values, time.time())
        stored = True
        for item in usual:
            _store(request).add_feedback(profile_id, owner_key, item, time.time())
    feedback = [*feedback, *usual]
    belief = belief_for(model, sex, values, feedback, load_chart)
    result = answer(model, sex, belief, chart, fit, size_lean(feedback, values, load_chart))
    analytics = getattr(request.app.state.plaza, "analytics", None)
    if analytics is not None and req.product_id and x_shopper_key:
        analytics.tried_on(x_shopper_key, req.product_id)  # the funnel's try-on: a pseudonym, never the body
    rec = result.recommendation
    return RecommendOut(
        chart_id=chart.id, fit=fit, size=rec.size, runner_up=rec.runner_up, confidence=round(rec.confidence, 3),
        probabilities={k: round(v, 3) for k, v in rec.probabilities.items()}, sentence=rec.sentence,
        regions=[RegionOut(region=r.region, body_cm=round(r.body_cm, 1), body_sd_cm=round(r.body_sd_cm, 1),
                           garment_cm=round(r.garment_cm, 1), ease_cm=round(r.ease_cm, 1), label=r.label)
                 for r in rec.regions],
        avatar=AvatarOut(body_scale=result.body_scale,
                         garment=[GarmentRegionOut(**g.__dict__) for g in result.garment]),
        stored=stored, profile_id=profile_id, owner_key=owner_key,
    )


@public.get("/charts", summary="List size charts")
def charts() -> list[str]:
    return list_charts()


@public.get("/charts/{chart_id}", summary="One size chart (format in docs/SIZING.md)")
def chart(chart_id: ChartId) -> Any:
    return _chart(chart_id, status=404).to_dict()


@router.post("/profiles", response_model=ProfileCreated, status_code=201, responses=responses(429),
             summary="Store your measurements (only with consent)")
def create_profile(req: ProfileIn, request: Request) -> Any:
    if not req.consent:
        raise shopper_problem(400, "consent_required",
                              "We keep your measurements only if you agree: set consent to true. "
                              "You can get a size without storing anything via /api/sizing/recommend.")
    sex, values = _checked_body(req.body)
    _count_profile_creation(request)
    profile_id, owner_key = _store(request).create(sex, values, time.time())
    return JSONResponse(ProfileCreated(profile_id=profile_id, owner_key=owner_key).model_dump(), status_code=201)


@router.get("/profiles/{profile_id}", responses=PROFILE_ERRORS, summary="Export your profile as JSON")
def export_profile(profile_id: ProfileId, request: Request, x_owner_key: OwnerKey = None) -> Any:
    """Everything stored about you, plus the current estimate of your body."""
    profile = _profile(request, profile_id, x_owner_key)
    feedback = [f for _, f in profile.feedback]
    belief = belief_for(default_model(), profile.sex, profile.measurements, feedback, load_chart)
    doc = profile.export()
    doc["estimate"] = {k: v.model_dump() for k, v in _estimates(belief, profile.measurements).items()}
    return doc


@router.put("/profiles/{profile_id}", responses=PROFILE_ERRORS, summary="Replace your stored measurements")
def update_profile(profile_id: ProfileId, body: Body, request: Request, x_owner_key: OwnerKey = None) -> Any:
    """Your feedback is kept; the measurements you send replace the stored ones."""
    _profile(request, profile_id, x_owner_key)
    _, values = _checked_body(body)
    _store(request).update_measurements(profile_id, x_owner_key or "", values, time.time())
    return {"updated": True, "profile_id": profile_id}


@router.delete("/profiles/{profile_id}", responses=PROFILE_ERRORS, summary="Erase your profile and its feedback")
def delete_profile(profile_id: ProfileId, request: Request, x_owner_key: OwnerKey = None) -> Any:
    _profile(request, profile_id, x_owner_key)
    _store(request).delete(profile_id, x_owner_key or "")
    return {"deleted": True, "profile_id": profile_id}


@router.post("/profiles/{profile_id}/feedback", response_model=FeedbackOut, responses=PROFILE_ERRORS,
             summary="Tell us how a size fitted; your next recommendations learn from it")
def add_feedback(profile_id: ProfileId, req: FeedbackIn, request: Request, x_owner_key: OwnerKey = None) -> Any:
    profile = _profile(request, profile_id, x_owner_key)
    chart = _chart(req.chart_id)
    item = Feedback(chart_id=chart.id, size=req.size, fit=req.fit, verdict=req.verdict, region=req.region)
    try:
        touched = regions_for(chart, item)
        chart.index_of(req.size)
    except ChartError as exc:
        raise shopper_problem(400, "unknown_size", str(exc)) from None
    _store(request).add_feedback(profile_id, x_owner_key or "", item, time.time())
    earlier = [f for _, f in profile.feedback]
    before = belief_for(default_model(), profile.sex, profile.measurements, earlier, load_chart)
    belief = belief_for(default_model(), profile.sex, profile.measurements, [*earlier, item], load_chart)
    lean_before = size_lean(earlier, profile.measurements, load_chart)
    lean = size_lean([*earlier, item], profile.measurements, load_chart)
    message = feedback_message(before, belief, chart, item, profile.measurements, lean_before, lean)
    related = {"chest", "waist", "hips", "shoulder", "neck", "thigh", *touched}
    return FeedbackOut(changed=_estimates(belief, profile.measurements, [n for n in VARIABLES if n in related]),
                       message=message, lean=lean)


@router.post("/furniture-fit", response_model=FurnitureOut, responses=responses(404, 503),
             summary="Does an item fit the room and pass the doorway")
def furniture(req: FurnitureIn) -> Any:
    item = req.item
    if item is None and req.product_id:
        dims = getattr(_product(req.product_id), "dimensions_cm", None)
        if not dims:
            raise shopper_problem(400, "no_dimensions",
                                  "This product has no dimensions; please give the item's width, depth and height.")
        item = Box(width=dims["width"], depth=dims["depth"], height=dims["height"])
    if item is None:
        raise shopper_problem(400, "missing_item",
                              "Tell us the item: give its width, depth and height in cm, or a product_id.")
    problems = []
    for what, box in (("room", req.room), ("doorway", req.doorway), ("item", item)):
        for axis, value in box.model_dump().items():
            if not 0 < value <= 5000:
                problems.append({"field": f"{what}.{axis}",
                                 "message": f"The {what} {axis} must be between 0 and 5000 cm (you gave {value:g})."})
    if problems:
        raise shopper_problem(422, "impossible_dimensions", " ".join(p["message"] for p in problems), problems)
    r = req.room
    result = furniture_fit((r.width, r.depth, r.height), (req.doorway.width, req.doorway.height),
                           (item.width, item.depth, item.height))
    return FurnitureOut(**result.__dict__)

// Pure: the try-on form. Which measurements a shopper can give, stepping them without a keyboard (VR),
// and checking them before anything leaves the page. No DOM, no three.js.

/**
 * Fields in form order. Limits mirror the server's plausible human ranges (server/sizing/measurements.py).
 * `required` ones are always on the form; the rest sit behind "More measurements". `label` fits a half-width
 * panel button, `long` (default: label) is for sentences. `step` is the smallest stepper move (half
 * centimetres for the foot: an EU shoe size is 0.67 cm). `hint` says how to measure, in one panel line.
 */
export const FIELDS = [
  { name: 'stature', label: 'Height', unit: 'cm', required: true, min: 120, max: 230, start: 170,
    hint: 'Barefoot, back against a wall.' },
  { name: 'weight', label: 'Weight', unit: 'kg', required: true, min: 30, max: 250, start: 70,
    hint: 'On a scale, in light clothes.' },
  { name: 'chest', label: 'Chest', unit: 'cm', min: 55, max: 180, start: 96,
    hint: 'Tape under the arms, fullest part.' },
  { name: 'waist', label: 'Waist', unit: 'cm', min: 45, max: 180, start: 84,
    hint: 'Tape round your navel, relaxed.' },
  { name: 'hips', label: 'Hips', unit: 'cm', min: 60, max: 180, start: 100,
    hint: 'Tape round your seat, widest part.' },
  { name: 'inseam', label: 'Inseam', unit: 'cm', min: 50, max: 110, start: 80,
    hint: 'Crotch to floor, inside the leg.' },
  { name: 'age', label: 'Age', unit: 'years', min: 13, max: 100, start: 35,
    hint: 'In years: it refines the shape.' },
  { name: 'shoulder', label: 'Shoulders', long: 'Shoulder width', unit: 'cm', min: 25, max: 60, start: 39,
    hint: 'Across the back, bone tip to tip.' },
  { name: 'neck', label: 'Neck', unit: 'cm', min: 25, max: 65, start: 37,
    hint: 'Round the neck base, collar line.' },
  { name: 'sleeve', label: 'Sleeve', unit: 'cm', min: 55, max: 110, start: 84,
    hint: 'Nape, over the shoulder, to wrist.' },
  { name: 'thigh', label: 'Thigh', unit: 'cm', min: 30, max: 100, start: 56,
    hint: 'Tape round the top of one thigh.' },
  { name: 'foot_length', label: 'Foot', long: 'Foot length', unit: 'cm', min: 18, max: 35, start: 25.5, step: 0.5,
    hint: 'On paper: heel to longest toe.' },
].map((f) => ({ required: false, step: 1, long: f.label, ...f }));
export const MORE_FIELDS = FIELDS.filter((f) => !f.required);
// Pairs that must be smaller < larger for one person, as the server's CONSISTENCY (same order of checks).
const CONSISTENCY = [['neck', 'chest'], ['neck', 'waist'], ['thigh', 'hips'], ['inseam', 'stature'],
  ['sleeve', 'stature'], ['shoulder', 'chest']];
export const SEXES = ['female', 'male'];
/**
 * "I wear M in tops": a size of this chart that fits the shopper, sent as `usual_sizes`. Strong evidence (women's
 * tops: 50 % exact sizes from height and weight, 60-70 % with it; docs/SIZING.md). Its sizes come from the API.
 */
export const USUAL_CHART = 'tops-unisex';
export const USUAL = { name: 'usual', label: 'Usual size in tops', hint: 'Your T-shirt size, if you are sure.' };
const BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));

export function fieldOf(name) {
  return BY_NAME.get(name) ?? null;
}

/**
 * Empty form: nothing filled in, sex not given, usual size "don't know", consent off (nothing is stored unless the
 * shopper turns it on).
 */
export function emptyForm() {
  return { values: Object.fromEntries(FIELDS.map((f) => [f.name, null])), sex: null, usual: null, consent: false };
}

/** The usual-size button: "Usual size in tops: M", or "…: don't know". */
export function usualLabel(size) {
  return `${USUAL.label}: ${size ?? "don't know"}`;
}

/** The stepper buttons' moves for a field: 1 and 5 units, or 0.5 and 1 cm where halves matter (the foot). */
export function stepsFor(name) {
  const step = fieldOf(name)?.step ?? 1;
  return step < 1 ? [-2 * step, -step, step, 2 * step] : [-5 * step, -step, step, 5 * step];
}

function roundTo(value, step) {
  return Math.round(value / step) * step;
}

/**
 * A stepper press: the first press on an empty field starts from a typical value (a hint, not an entry
 * the shopper did not make: it only happens when they press), then moves by `delta`, kept inside the limits
 * and on the field's step. Returns a new values object.
 */
export function stepValue(values, name, delta) {
  const field = fieldOf(name);
  if (!field || !Number.isFinite(delta)) return values;
  const current = values[name];
  const next = current === null || current === undefined ? field.start : current + delta;
  return { ...values, [name]: Math.min(field.max, Math.max(field.min, roundTo(next, field.step))) };
}

export function clearValue(values, name) {
  const field = fieldOf(name);
  return field ? { ...values, [name]: null } : values;
}

/** "Height 180 cm", or "Height: set" / "Chest: –" while empty (the optional ones sit under "More measurements"). */
export function fieldLabel(name, value) {
  const field = fieldOf(name);
  if (!field) return String(name);
  // Empty: a placeholder in the field's unit, like an empty input's ("Height: ? cm"), never a bare verb.
  if (value === null || value === undefined) return `${field.label}: ? ${field.unit}`;
  return `${field.label} ${value} ${field.unit}`;
}

/** How many of the optional ("More measurements") fields hold a value. */
export function optionalCount(values) {
  return MORE_FIELDS.filter((f) => values?.[f.name] !== null && values?.[f.name] !== undefined).length;
}

/**
 * Checks a form and builds the sizing API's `Body` and `usual_sizes`. Returns {ok, body, usualSizes,
 * problems: [{field, message}]}. Only what the shopper gave is sent; sex and a usual size only when chosen.
 */
export function validateForm(form) {
  const problems = [];
  const body = {};
  for (const field of FIELDS) {
    const value = form.values?.[field.name];
    if (value === null || value === undefined) {
      if (field.required) problems.push({ field: field.name, message: `Please set your ${field.long.toLowerCase()}.` });
      continue;
    }
    if (!Number.isFinite(value)) {
      problems.push({ field: field.name, message: `Your ${field.long.toLowerCase()} is not a number.` });
    } else if (value < field.min || value > field.max) {
      problems.push({ field: field.name,
        message: `${field.long} must be between ${field.min} and ${field.max} ${field.unit} (you gave ${value}).` });
    } else {
      body[field.name] = value;
    }
  }
  if (!problems.length) {
    // Only once every value is in range, as the server does: one clear message per mix-up.
    for (const [smaller, larger] of CONSISTENCY) {
      if (body[smaller] !== undefined && body[larger] !== undefined && body[smaller] >= body[larger]) {
        const [a, b] = [fieldOf(smaller), fieldOf(larger)];
        problems.push({ field: smaller, message: `Your ${a.long.toLowerCase()} (${body[smaller]} cm) cannot be `
          + `as large as your ${b.long.toLowerCase()} (${body[larger]} cm); please check both.` });
      }
    }
  }
  if (form.sex !== null && form.sex !== undefined) {
    if (SEXES.includes(form.sex)) body.sex = form.sex;
    else problems.push({ field: 'sex', message: 'Choose female, male or leave it unset.' });
  }
  const usualSizes = [];
  if (form.usual !== null && form.usual !== undefined) {
    if (typeof form.usual === 'string' && form.usual) usualSizes.push({ chart_id: USUAL_CHART, size: form.usual });
    else problems.push({ field: 'usual', message: "Pick your usual size in tops, or \"don't know\"." });
  }
  return { ok: problems.length === 0, body, usualSizes, problems };
}

/**
 * The body of POST /recommend: from a stored profile (its measurements and remarks, a usual size among them)
 * or from the checked form, with the usual size when the shopper gave one; with `consent` the server stores
 * both (the usual size as a "fits" remark).
 */
export function recommendRequest({ checked, productId, consent = false, profileId = null }) {
  if (profileId) return { profile_id: profileId, product_id: productId };
  const req = { body: checked.body, product_id: productId, consent: Boolean(consent) };
  if (checked.usualSizes?.length) req.usual_sizes = checked.usualSizes;
  return req;
}

/** The usual sizes a stored profile holds: its overall "fits" remarks on USUAL_CHART, oldest first. */
export function storedUsualSizes(profile) {
  return (profile?.feedback ?? []).filter((f) => f?.chart_id === USUAL_CHART && f.verdict === 'fits' && !f.region)
    .map((f) => f.size);
}

/**
 * The remark (POST /profiles/{id}/feedback) that records the form's usual size in a stored profile, or null
 * when there is none or the profile's latest already says so (the same remark twice would count twice).
 */
export function usualRemark(usual, stored) {
  if (typeof usual !== 'string' || !usual || stored?.at(-1) === usual) return null;
  return { chart_id: USUAL_CHART, size: usual, fit: 'regular', verdict: 'fits' };
}

/** A stored profile export ({sex, measurements, feedback}) back into a form (consent stays on: it was given). */
export function formFromProfile(profile) {
  const form = emptyForm();
  for (const field of FIELDS) {
    const v = profile?.measurements?.[field.name];
    if (Number.isFinite(v)) form.values[field.name] = roundTo(v, field.step);
  }
  form.sex = SEXES.includes(profile?.sex) ? profile.sex : null;
  form.usual = storedUsualSizes(profile).at(-1) ?? null;
  form.consent = true;
  return form;
}

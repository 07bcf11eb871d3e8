// Pure: the try-on form. Which measurements a shopper can give, stepping them without a keyboard (VR),
// and checking them before anything leaves the page. No DOM, no three.js.

/** Fields in form order. Limits mirror the server's plausible human ranges (server/sizing/measurements.py). */
export const FIELDS = [
  { name: 'stature', label: 'Height', unit: 'cm', required: true, min: 120, max: 230, start: 170 },
  { name: 'weight', label: 'Weight', unit: 'kg', required: true, min: 30, max: 250, start: 70 },
  { name: 'chest', label: 'Chest', unit: 'cm', required: false, min: 55, max: 180, start: 96 },
  { name: 'waist', label: 'Waist', unit: 'cm', required: false, min: 45, max: 180, start: 84 },
  { name: 'hips', label: 'Hips', unit: 'cm', required: false, min: 60, max: 180, start: 100 },
  { name: 'inseam', label: 'Inseam', unit: 'cm', required: false, min: 50, max: 110, start: 80 },
];
export const SEXES = ['female', 'male'];
const BY_NAME = new Map(FIELDS.map((f) => [f.name, f]));

export function fieldOf(name) {
  return BY_NAME.get(name) ?? null;
}

/** Empty form: nothing filled in, sex not given, consent off (nothing is stored unless the shopper turns it on). */
export function emptyForm() {
  return { values: Object.fromEntries(FIELDS.map((f) => [f.name, null])), sex: null, consent: false };
}

/**
 * A stepper press: the first press on an empty field starts from a typical value (a hint, not an entry
 * the shopper did not make: it only happens when they press), then moves by `delta`, kept inside the limits.
 * Returns a new values object.
 */
export function stepValue(values, name, delta) {
  const field = fieldOf(name);
  if (!field || !Number.isFinite(delta)) return values;
  const current = values[name];
  const next = current === null || current === undefined ? field.start : current + delta;
  return { ...values, [name]: Math.min(field.max, Math.max(field.min, Math.round(next))) };
}

export function clearValue(values, name) {
  const field = fieldOf(name);
  return field ? { ...values, [name]: null } : values;
}

/** "Height 180 cm", or "Height: set" / "Chest: optional" while empty. */
export function fieldLabel(name, value) {
  const field = fieldOf(name);
  if (!field) return String(name);
  if (value === null || value === undefined) return `${field.label}: ${field.required ? 'set' : 'optional'}`;
  return `${field.label} ${value} ${field.unit}`;
}

/**
 * Checks a form and builds the sizing API's `Body`. Returns {ok, body, problems: [{field, message}]}.
 * Only what the shopper gave is sent; sex only when they chose one.
 */
export function validateForm(form) {
  const problems = [];
  const body = {};
  for (const field of FIELDS) {
    const value = form.values?.[field.name];
    if (value === null || value === undefined) {
      if (field.required) problems.push({ field: field.name, message: `Please set your ${field.label.toLowerCase()}.` });
      continue;
    }
    if (!Number.isFinite(value)) {
      problems.push({ field: field.name, message: `Your ${field.label.toLowerCase()} is not a number.` });
    } else if (value < field.min || value > field.max) {
      problems.push({ field: field.name,
        message: `${field.label} must be between ${field.min} and ${field.max} ${field.unit} (you gave ${value}).` });
    } else {
      body[field.name] = value;
    }
  }
  if (form.sex !== null && form.sex !== undefined) {
    if (SEXES.includes(form.sex)) body.sex = form.sex;
    else problems.push({ field: 'sex', message: 'Choose female, male or leave it unset.' });
  }
  return { ok: problems.length === 0, body, problems };
}

/** A stored profile export ({sex, measurements}) back into a form (consent stays on: it was given). */
export function formFromProfile(profile) {
  const form = emptyForm();
  for (const field of FIELDS) {
    const v = profile?.measurements?.[field.name];
    if (Number.isFinite(v)) form.values[field.name] = Math.round(v);
  }
  form.sex = SEXES.includes(profile?.sex) ? profile.sex : null;
  form.consent = true;
  return form;
}

/** Splits text into lines of at most `width` characters at spaces (panels draw one line per widget). */
export function wrapText(text, width = 44) {
  const words = String(text ?? '').split(/\s+/).filter(Boolean);
  const lines = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

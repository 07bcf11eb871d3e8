// Display formatting. Money is integer minor units plus an ISO currency code (never floats).

const MINOR_DIGITS = { JPY: 0, KRW: 0, CLP: 0, VND: 0, ISK: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 };

export function formatPrice(minor, currency, locale = undefined) {
  if (!Number.isInteger(minor) || typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    return 'price unavailable';
  }
  const digits = MINOR_DIGITS[currency] ?? 2;
  const major = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: digits,
      maximumFractionDigits: digits }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${currency}`;
  }
}

export function formatStock(count) {
  if (!Number.isFinite(count)) return 'stock unknown';
  if (count <= 0) return 'out of stock';
  if (count < 5) return `only ${count} left`;
  return `${count} in stock`;
}

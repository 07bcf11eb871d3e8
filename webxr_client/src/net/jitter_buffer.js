// Jitter buffer + interpolation for one remote avatar's pose stream. Pure: callers pass times in ms.
//
// Samples arrive stamped with the server's time and are played back `delay` ms behind the newest
// server time we can expect to have, so there are always two samples to interpolate between.
// - Clock: offset = local receive time - server time. The smallest offset over the last few seconds is
//   the fastest transit seen; anything above it is queueing/jitter.
// - Delay: about 50 ms on a good link (three 60 Hz snapshots), widened to cover the 95th percentile of
//   the extra transit when the link jitters; it grows quickly and shrinks slowly.
// - Playback clock: never jumps. It runs at 0.9x-1.1x real time to drift towards its target; after a long
//   gap (reconnect, tab in background) it re-syncs and cross-fades from the last shown pose.
//
// A pose is a flat array of numbers; `quatOffsets` lists where unit quaternions (x, y, z, w) start, so
// one buffer carries head, controllers, 25 hand joints or a 22-joint body (hips lerped, joints slerped) alike.
// `clock: otherBuffer` makes a buffer play on another's clock (sample the other first each frame): the parts
// of one avatar that arrive in the same snapshots (head and body) then obey one delay and stay in step.

const DEFAULTS = {
  minDelayMs: 50,
  maxDelayMs: 400,
  capacity: 64,
  windowMs: 3000, // offset history used for the clock and jitter estimates
  maxExtrapolateMs: 100, // past the newest sample: extrapolate this far, then hold
  maxRateChange: 0.1, // playback speed stays within 1 +- this
  resyncThresholdMs: 500, // further than this from target: re-sync with a cross-fade
  crossfadeMs: 200,
  quatOffsets: [],
  clock: null, // another JitterBuffer whose playback clock this one follows
};

export class JitterBuffer {
  constructor(options = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.samples = []; // {t: server ms, v: Float64Array}, sorted by t
    this.offsets = []; // {at: local ms, offset: ms}
    this.delayMs = this.options.minDelayMs;
    this.playTime = null; // server-time position of playback
    this.lastNow = null;
    this.lastOutput = null;
    this.baseOffset = 0;
    this.fade = null; // {from: Float64Array, start: local ms}
    this.stats = { received: 0, dropped: 0, late: 0, extrapolated: 0, held: 0, resyncs: 0, fades: 0 };
    this.wasHolding = false;
  }

  /** Adds a sample. Late (already played) or duplicate samples are dropped. Returns true if kept. */
  push(serverTimeMs, localTimeMs, values) {
    if (!Number.isFinite(serverTimeMs) || !Number.isFinite(localTimeMs) || !values) return false;
    const v = Float64Array.from(values);
    if (v.some((x) => !Number.isFinite(x))) return false;
    this.stats.received += 1;
    this._recordOffset(localTimeMs, localTimeMs - serverTimeMs);
    if (this.playTime !== null && serverTimeMs <= this.playTime - this.options.maxExtrapolateMs) {
      this.stats.late += 1; // arrived after its moment was shown; kept only as history
    }
    let i = this.samples.length;
    while (i > 0 && this.samples[i - 1].t > serverTimeMs) i -= 1;
    if (i > 0 && this.samples[i - 1].t === serverTimeMs) {
      this.stats.dropped += 1;
      return false;
    }
    this.samples.splice(i, 0, { t: serverTimeMs, v });
    if (this.samples.length > this.options.capacity) this.samples.shift();
    return true;
  }

  _recordOffset(now, offset) {
    this.offsets.push({ at: now, offset });
    const horizon = now - this.options.windowMs;
    while (this.offsets.length > 1 && this.offsets[0].at < horizon) this.offsets.shift();
    const base = Math.min(...this.offsets.map((o) => o.offset));
    const excess = this.offsets.map((o) => o.offset - base).sort((a, b) => a - b);
    const p95 = excess[Math.min(excess.length - 1, Math.floor(excess.length * 0.95))];
    const interval = this._sampleInterval();
    // Cover one sample interval of interpolation plus the late arrivals, never less than the minimum.
    const wanted = Math.min(this.options.maxDelayMs, Math.max(this.options.minDelayMs, interval + p95 * 1.25 + 5));
    // Grow fast (a starved buffer would freeze), shrink slowly (avoid pumping).
    this.delayMs = wanted > this.delayMs ? this.delayMs + (wanted - this.delayMs) * 0.5
      : this.delayMs + (wanted - this.delayMs) * 0.02;
    this.baseOffset = base;
  }

  _sampleInterval() {
    const n = this.samples.length;
    if (n < 2) return 1000 / 60;
    const span = this.samples[n - 1].t - this.samples[Math.max(0, n - 9)].t;
    return span / Math.min(8, n - 1);
  }

  /** Server time that playback aims at, given the local time now. */
  targetTime(localNowMs) {
    return localNowMs - this.baseOffset - this.delayMs;
  }

  /** The pose to draw at local time `localNowMs`, or null before the first sample. */
  sample(localNowMs) {
    if (this.samples.length === 0) return null;
    const target = this.targetTime(localNowMs);
    const leader = this.options.clock;
    if (leader && leader.playTime !== null) {
      // Follow the leader's clock; a first sample or a jump (the leader re-synced) cross-fades as usual.
      const jumped = this.playTime !== null
        && Math.abs(leader.playTime - (this.playTime + (localNowMs - this.lastNow))) > this.options.resyncThresholdMs;
      if ((this.playTime === null || jumped) && this.lastOutput) this.fade = { from: this.lastOutput, start: localNowMs };
      if (jumped) this.stats.resyncs += 1;
      this.playTime = leader.playTime;
    } else if (this.playTime === null) {
      this.playTime = target;
      if (this.lastOutput) this.fade = { from: this.lastOutput, start: localNowMs };
    } else {
      const advanced = this.playTime + Math.max(0, localNowMs - this.lastNow);
      const error = target - advanced;
      if (Math.abs(error) > this.options.resyncThresholdMs) {
        this.stats.resyncs += 1;
        if (this.lastOutput) this.fade = { from: this.lastOutput, start: localNowMs };
        this.playTime = target;
      } else {
        // Drift towards the target with a 200 ms time constant, at most 10% faster or slower than real
        // time, so motion never visibly jumps.
        const dt = localNowMs - this.lastNow;
        const limit = this.options.maxRateChange * dt;
        this.playTime = advanced + Math.max(-limit, Math.min(limit, error * Math.min(1, dt / 200)));
      }
    }
    this.lastNow = localNowMs;
    const newest = this.samples[this.samples.length - 1].t;
    const holding = this.playTime > newest + this.options.maxExtrapolateMs;
    if (this.wasHolding && !holding && this.lastOutput) {
      // The stream came back after a gap: glide from where the avatar froze to where it is now.
      this.stats.fades += 1;
      this.fade = { from: this.lastOutput, start: localNowMs };
    }
    this.wasHolding = holding;
    let out = this._at(this.playTime);
    if (this.fade) {
      const k = (localNowMs - this.fade.start) / this.options.crossfadeMs;
      if (k >= 1) this.fade = null;
      else out = this._blend(this.fade.from, out, smoothstep(k));
    }
    this.lastOutput = out;
    return out;
  }

  /**
   * Forgets the samples and the clock (the server restarted or a new connection has a new time base)
   * but keeps the last shown pose, so the next samples cross-fade from it instead of snapping.
   */
  reset() {
    this.samples = [];
    this.offsets = [];
    this.playTime = null;
    this.lastNow = null;
    this.wasHolding = true;
  }

  _at(t) {
    const s = this.samples;
    const q = this.options.quatOffsets;
    if (t <= s[0].t) {
      this.stats.held += 1;
      return Float64Array.from(s[0].v);
    }
    const last = s[s.length - 1];
    if (t >= last.t) {
      if (s.length < 2) {
        this.stats.held += 1;
        return Float64Array.from(last.v);
      }
      // Extrapolate a short way along the last motion, then hold: a frozen avatar beats a runaway one.
      this.stats.extrapolated += 1;
      const prev = s[s.length - 2];
      const ahead = Math.min(t - last.t, this.options.maxExtrapolateMs);
      return interpolate(prev.v, last.v, 1 + ahead / (last.t - prev.t), q);
    }
    let hi = 1;
    while (s[hi].t < t) hi += 1;
    const a = s[hi - 1];
    const b = s[hi];
    return interpolate(a.v, b.v, (t - a.t) / (b.t - a.t), q);
  }

  _blend(from, to, k) {
    if (from.length !== to.length) return to;
    return interpolate(from, to, k, this.options.quatOffsets);
  }
}

function smoothstep(k) {
  return k * k * (3 - 2 * k);
}

/** Linear interpolation of all values; quaternions are slerped along the shortest arc. */
export function interpolate(a, b, k, quatOffsets = []) {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i += 1) out[i] = a[i] + (b[i] - a[i]) * k;
  for (const o of quatOffsets) slerpInto(out, o, a, b, k);
  return out;
}

function slerpInto(out, o, a, b, k) {
  let bx = b[o]; let by = b[o + 1]; let bz = b[o + 2]; let bw = b[o + 3];
  let dot = a[o] * bx + a[o + 1] * by + a[o + 2] * bz + a[o + 3] * bw;
  if (dot < 0) { // q and -q are the same rotation: take the short way round
    bx = -bx; by = -by; bz = -bz; bw = -bw; dot = -dot;
  }
  let wa; let wb;
  if (dot > 0.9995 || k < 0 || k > 1) { // nearly equal, or extrapolating: normalised lerp is stable
    wa = 1 - k; wb = k;
  } else {
    const theta = Math.acos(Math.min(1, dot));
    const sin = Math.sin(theta);
    wa = Math.sin((1 - k) * theta) / sin;
    wb = Math.sin(k * theta) / sin;
  }
  const x = wa * a[o] + wb * bx;
  const y = wa * a[o + 1] + wb * by;
  const z = wa * a[o + 2] + wb * bz;
  const w = wa * a[o + 3] + wb * bw;
  const n = Math.hypot(x, y, z, w) || 1;
  out[o] = x / n; out[o + 1] = y / n; out[o + 2] = z / n; out[o + 3] = w / n;
}

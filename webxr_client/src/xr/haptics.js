// Haptic cues for paying with a hold (pinch, trigger or the hold-to-pay button): a light tick at each quarter
// of the ring, a firm pulse when it fills, a soft one when a started hold is let go. Pulses go to the
// controllers' haptic actuators (WebXR Gamepads Module: `gamepad.hapticActuators[0].pulse(value, ms)`); tracked
// hands and phones have none, and then nothing happens.

export const CUES = {
  quarter: { strength: 0.25, ms: 25 },
  done: { strength: 0.8, ms: 120 },
  cancel: { strength: 0.15, ms: 40 },
};

/** The cue for a ring going from `before` to `after` (0..1), or null. Pure: the panel calls it on each update. */
export function hapticCue(before, after) {
  if (after >= 1 && before < 1) return CUES.done;
  if (after <= 0 && before > 0 && before < 1) return CUES.cancel;
  if (Math.floor(after * 4) > Math.floor(before * 4) && after < 1) return CUES.quarter;
  return null;
}

/**
 * Pulses the controllers among `sources` (XRInput.active()); only the `hand` side ('left' | 'right') when given.
 * Returns how many actuators were pulsed.
 */
export function pulseControllers(sources, cue, hand = null) {
  let pulsed = 0;
  for (const { inputSource } of sources) {
    if (hand && inputSource.handedness !== hand) continue;
    const actuator = inputSource.gamepad?.hapticActuators?.[0];
    if (typeof actuator?.pulse !== 'function') continue;
    actuator.pulse(cue.strength, cue.ms).catch?.(() => null); // a device that refuses is not an error
    pulsed += 1;
  }
  return pulsed;
}

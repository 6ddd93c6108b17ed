import { describe, expect, it } from 'vitest';
import { ProbeHysteresis } from './probe-hysteresis.js';

describe('ProbeHysteresis', () => {
  it('flips only on the third disagreeing result in a row', () => {
    const h = new ProbeHysteresis();
    expect(h.record('a', false, true)).toBeNull();
    expect(h.record('a', false, true)).toBeNull();
    expect(h.record('a', false, true)).toBe(false);
    expect(h.record('a', true, false)).toBeNull();
    expect(h.record('a', true, false)).toBeNull();
    expect(h.record('a', true, false)).toBe(true);
  });

  it('starts over when a result agrees with the current health', () => {
    const h = new ProbeHysteresis();
    h.record('a', false, true);
    h.record('a', false, true);
    expect(h.record('a', true, true)).toBeNull();
    expect(h.record('a', false, true)).toBeNull();
    expect(h.record('a', false, true)).toBeNull();
    expect(h.record('a', false, true)).toBe(false);
  });

  it('counts each instance on its own and forgets the ones no longer probed', () => {
    const h = new ProbeHysteresis();
    h.record('a', false, true);
    h.record('a', false, true);
    h.record('b', false, true);
    h.retain(new Set(['b']));
    expect(h.record('a', false, true)).toBeNull();
    expect(h.record('b', false, true)).toBeNull();
    expect(h.record('b', false, true)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { CLAIM_SCRIPT } from '../store/redis-scripts.js';
import { luaSentence, removedFor, silentFor } from './lease-events.js';

describe('lease event wording', () => {
  it('builds the Lua expression of a sentence from the same function the registry words it with', () => {
    expect(silentFor(1300)).toBe('no beat for 1300 ms');
    expect(luaSentence(silentFor, 'deadline - l.b')).toBe('"no beat for " .. (deadline - l.b) .. " ms"');
    expect(luaSentence(removedFor, "l.s == 'offline' and 'offline' or 'lost'")).toBe(
      `"removed (" .. (l.s == 'offline' and 'offline' or 'lost') .. ")"`,
    );
  });

  it('leaves no sentence of the lease machine written out in the claim script', () => {
    expect(CLAIM_SCRIPT).toContain(luaSentence(silentFor, 'deadline - l.b'));
    expect(CLAIM_SCRIPT).not.toMatch(/'no beat for|'removed \(/);
  });
});

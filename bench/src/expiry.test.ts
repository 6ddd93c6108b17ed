import { describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

describe('bench:expiry --smoke', () => {
  it('measures deadline -> lost in the backend and on the socket, and ends with the p99 and its goal', async () => {
    const { code, output, headline } = await runSmoke('expiry');
    expect(code, output).toBe(0);
    expect(headline).toMatch(/^expiry lag p99: \d+(\.\d+)? ms \(goal <= 100\)$/);
    expect(output).toMatch(/expiry lag in the backend \(deadline -> lost transition\) p99: \d+(\.\d+)? ms/);
  });
});

import { describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

describe('bench:dashboard --smoke', () => {
  it('measures socket delivery and first rows in Chromium, and ends with both', async () => {
    const { code, output, headline } = await runSmoke('dashboard');
    expect(code, output).toBe(0);
    expect(headline).toMatch(/^dashboard delivery p99: \d+ ms, first rows: \d+ ms$/);
  });
});

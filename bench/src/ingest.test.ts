import { describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

describe('bench:ingest --smoke', () => {
  it('measures the backend against the bare server and ends with the ratio and its goal', async () => {
    const { code, output, headline } = await runSmoke('ingest');
    expect(code, output).toBe(0);
    expect(headline).toMatch(/^ingest ratio vs bare node:http: \d+\.\d+ \(goal >= 0\.8\)$/);
    expect(output).toMatch(/backend\s+light\s+\d+/);
  });
});

import { describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

describe('bench:ingest --smoke', () => {
  it('measures the backend (HTTP route and beat socket) against the bare server and ends with the ratio and its goal', async () => {
    const { code, output, headline } = await runSmoke('ingest');
    expect(code, output).toBe(0);
    expect(headline).toMatch(/^ingest ratio vs bare node:http: \d+\.\d+ \(goal >= 0\.8\)$/);
    // Every beat answered 200 (none refused by the rate limit: the load spreads over enough instances).
    expect(output).toMatch(/\nbackend\s+light\s+\d+\s+[\d.]+\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\s/);
    // The beat socket, loaded over WebSockets, answered every beat (0 errors) and has its own figure.
    expect(output).toMatch(/backend, beat socket\s+light\s+\d+\s+[\d.]+\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\s/);
    expect(output).toMatch(/^ingest beat socket vs bare node:http: \d+\.\d+ \(goal >= 1\.5\)$/m);
  });
});

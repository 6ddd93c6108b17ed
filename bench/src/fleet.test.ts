import { describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

describe('bench:fleet --smoke', () => {
  it('takes --instances and --duration, runs a small fleet and ends with false lost, RSS and beats/s', async () => {
    const { code, output, headline } = await runSmoke('fleet', ['--instances', '800', '--duration', '3']);
    expect(code, output).toBe(0);
    const m = /^fleet (\d+) instances: false lost (\d+), rss (\d+) MiB, beats\/s (\d+)$/.exec(headline);
    expect(m, output).not.toBeNull();
    expect(Number(m?.[1])).toBe(800);
    // A small fleet on an idle backend must be held without a single false loss.
    expect(Number(m?.[2])).toBe(0);
    expect(Number(m?.[4])).toBeGreaterThan(0);
    // The load generator was also run against the reference servers.
    expect(output).toMatch(/bare node:http\s+\d+/);
  });
});

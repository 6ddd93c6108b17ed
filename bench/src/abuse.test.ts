import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

interface Flood {
  up: boolean;
  rssMax: number;
  notHealthy: string[];
  nonJson: number;
  tally: {
    sent: number;
    statuses: Record<string, number>;
    samples: Record<string, string>;
    notes: string[];
    otherUser?: number;
    stillOpen?: number;
    targetHits?: number;
    selfPreservationEntered?: number;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-abuse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:abuse --smoke', () => {
  it('every flood is refused or absorbed: the backend stays up within its RSS bound, logs stay JSON, the real agents stay healthy', async () => {
    const file = join(dir, 'abuse.json');
    const { code, output, headline } = await runSmoke('abuse', ['--json', file], 300_000);
    expect(code, output).toBe(0);
    expect(headline, output).toMatch(
      /^abuse 8 floods: backend up yes, rss max \d+ MiB \(bound \d+\), real agents healthy yes, non-JSON log lines 0$/,
    );
    const result = JSON.parse(readFileSync(file, 'utf8')) as { rssMax: number; rssBoundMiB: number; floods: Record<string, Flood> };
    const { floods } = result;
    expect(result.rssMax / 2 ** 20, output).toBeLessThan(result.rssBoundMiB);
    for (const [name, flood] of Object.entries(floods)) {
      expect(flood.up, `${name}: backend up\n${output}`).toBe(true);
      expect(flood.notHealthy, `${name}: real agents\n${output}`).toEqual([]);
      expect(flood.tally.statuses.error ?? 0, `${name}: connection errors\n${output}`).toBe(0);
      expect(
        Object.keys(flood.tally.statuses).filter((s) => /^5/.test(s)),
        `${name}: 5xx answers\n${output}`,
      ).toEqual([]);
    }
    // Ten wrong passwords are checked, the rest of the concurrent burst refused; another user still logs in.
    expect(floods.login!.tally.statuses['401'], output).toBeLessThanOrEqual(10);
    expect(floods.login!.tally.statuses['429'], output).toBeGreaterThan(0);
    expect(floods.login!.tally.otherUser, output).toBe(200);
    // Aborted bodies: no stack trace per request.
    expect(floods.aborted!.nonJson, output).toBe(0);
    expect(floods.aborted!.tally.sent, output).toBe(1000);
    // Slow bodies are cut off by the request timeout.
    expect(floods.slow!.tally.stillOpen, output).toBe(0);
    // No probe requests the attacker's path (with its query) on a host that did not register itself.
    expect(floods.probes!.tally.targetHits, output).toBe(0);
    // One token's silent instances do not push the fleet into self-preservation.
    expect(floods['self-preservation']!.tally.selfPreservationEntered, output).toBe(0);
  }, 320_000);
});

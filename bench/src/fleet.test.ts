import { connect } from 'node:net';
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

  it('runs the same fleet on the redis store with --store redis --mirror, and adds Redis and the mirror replica', async () => {
    if (!(await redisAnswers()))
      throw new Error('bench:fleet --store redis needs Redis at 127.0.0.1:6379, which does not answer (start redis-server)');
    const { code, output, headline } = await runSmoke('fleet', [
      '--instances',
      '800',
      '--duration',
      '3',
      '--check',
      '0',
      '--store',
      'redis',
      '--mirror',
    ]);
    expect(code, output).toBe(0);
    const m = /^fleet (\d+) instances on redis: false lost (\d+), rss (\d+) MiB, beats\/s (\d+)$/.exec(headline);
    expect(m, output).not.toBeNull();
    expect(Number(m?.[2])).toBe(0);
    expect(Number(m?.[4])).toBeGreaterThan(0);
    expect(output).toMatch(/Redis memory growth per instance \(B\)\s+\d+/);
    // The replica that took no beat shows the same fleet, all healthy.
    expect(output).toMatch(/mirror replica statuses at the end\s+\{"healthy":800,"suspect":0,"lost":0/);
  });
});

/** Whether a Redis answers PING on the default port. */
function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 6379 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

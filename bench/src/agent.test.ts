import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runSmoke } from './lib/smoke.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('bench:agent --smoke', () => {
  beforeAll(() => {
    // The bench workspace depends on the backend only; the agent and the template plugin are
    // built here when `npm test` has not built them yet (turbo answers from its cache otherwise).
    if (existsSync(`${root}packages/agent/dist/register.js`) && existsSync(`${root}plugins/template/dist/index.js`)) return;
    const build = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@vigil/plugin-template...', '--output-logs=errors-only'], {
      cwd: root,
      stdio: 'inherit',
      env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env },
    });
    expect(build.status).toBe(0);
  });

  it('loads a service with and without the agent and ends with the throughput loss and its goal', async () => {
    const { code, output, headline } = await runSmoke('agent');
    expect(code, output).toBe(0);
    expect(headline).toMatch(/^agent throughput loss: -?\d+(\.\d+)?% \(goal <= 2\)$/);
    expect(output).toMatch(/agent instance in the backend: healthy, plugins template, http-timing/);
    // Every figure of the goal table is printed with its goal (instruction counts are skipped in a smoke).
    expect(output).toMatch(/hello-world, agent with no plugins: throughput loss per service CPU-s \[95 % CI\]\s+-?\d+\.\d+ %.*<= 0\.5 %/);
    expect(output).toMatch(/hello-world, agent with no plugins: instructions\/request, main thread outside GC \(callgrind\)\s+skipped/);
    expect(output).toMatch(/fastify \+ PostgreSQL, agent \+ http-timing: throughput loss .*<= 1 %/);
    expect(output).toMatch(/Vigil wrapper with empty before\/after vs unwrapped call \(sync, CPU ns\)\s+\+-?\d+\.\d ns\s+<= 30 ns/);
  });
});

/**
 * Property-based tests against the real backend process: random and mutated beats, event
 * batches and Nacos calls never get a 5xx, never stop the process, and never corrupt the
 * instance list (every listed instance still satisfies the protocol's schema, and every beat the
 * backend accepted is reflected in it).
 */
import fc from 'fast-check';
import { instanceListSchema, beatReplySchema, type BeatReply } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullBeat, killAll, startBackend, type Backend } from './harness.js';

/** Enough cases to reach the odd corners, few enough for a two-core CI machine. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

function validFullBeat(instanceId: string): Record<string, unknown> {
  return {
    ...fullBeat(instanceId, {
      service: 'fuzz',
      appName: 'fuzz-app',
      hostName: 'fuzz-host',
      processId: 4321,
      plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
    }),
    metadata: { zone: 'a' },
  };
}

/** JSON values, including the ones that trip parsers: huge numbers, deep nesting, odd strings. */
const jsonValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, '', 'NaN', 'Infinity', '-1', '__proto__'),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 200, maxLength: 3000 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.array(fc.string(), { maxLength: 200 }),
  fc.dictionary(fc.string({ maxLength: 200 }), fc.string({ maxLength: 2000 }), { maxKeys: 80 }),
);

const beatFields = Object.keys(validFullBeat('x'));

/** A valid full beat with one to three fields replaced, removed or added. */
const mutatedBeat = fc
  .tuple(
    fc.constantFrom('fuzz-a', 'fuzz-b', 'fuzz-c'),
    fc.array(
      fc.oneof(
        fc.record({
          op: fc.constant('set' as const),
          field: fc.constantFrom(...beatFields, 'kind', 'extra', '__proto__', 'constructor'),
          value: jsonValue,
        }),
        fc.record({ op: fc.constant('drop' as const), field: fc.constantFrom(...beatFields) }),
        fc.record({ op: fc.constant('kind' as const), value: fc.constantFrom('light', 'goodbye', 'full', 'FULL', '') }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .map(([id, mutations]) => {
    const beat = validFullBeat(id);
    for (const mutation of mutations) {
      if (mutation.op === 'set')
        Object.defineProperty(beat, mutation.field, { value: mutation.value, enumerable: true, writable: true, configurable: true });
      else if (mutation.op === 'drop') delete beat[mutation.field];
      else beat.kind = mutation.value;
    }
    return JSON.stringify(beat);
  });

/** Bodies that are not JSON, or barely: truncated, binary, nested past reason. */
const rawBody = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom(
    '',
    '{',
    '[]',
    'null',
    '"x"',
    '{"v":1,"kind":"light"',
    '{"__proto__":{"kind":"full"}}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
  ),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  mutatedBeat.map((json) => json.slice(0, Math.max(1, Math.floor(json.length / 2)))),
);

describe('fuzzing the real backend', () => {
  let backend: Backend;
  /** Instances whose full beat the backend accepted: they must be listed afterwards. */
  const accepted = new Set<string>();

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '600000', VIGIL_REMOVE_AFTER_MS: '1200000' });
  });
  afterAll(() => killAll());

  async function send(
    method: string,
    path: string,
    body: string | undefined,
    contentType = 'application/json',
  ): Promise<{ status: number; text: string }> {
    const response = await fetch(`${backend.url}${path}`, { method, headers: { 'content-type': contentType }, body });
    return { status: response.status, text: await response.text() };
  }

  async function expectConsistent(): Promise<void> {
    expect((await fetch(`${backend.url}/healthz`)).status).toBe(200);
    const answer = await fetch(`${backend.url}/api/v1/instances`);
    expect(answer.status).toBe(200);
    const list = instanceListSchema.parse(await answer.json());
    expect(list.total).toBe(list.instances.length);
    expect(new Set(list.instances.map((i) => i.instanceId)).size).toBe(list.instances.length);
    for (const id of accepted)
      expect(
        list.instances.some((i) => i.instanceId === id),
        `instance ${id} was accepted`,
      ).toBe(true);
  }

  it('answers mutated beats with 2xx or a 4xx naming the problem, never 5xx; accepted ones are listed', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mutatedBeat, async (body) => {
        const { status, text } = await send('PUT', '/api/v1/heartbeat', body);
        expect(status, text).toBeLessThan(500);
        if (status === 200) {
          const reply: BeatReply = beatReplySchema.parse(JSON.parse(text));
          const beat = JSON.parse(body) as { kind: string; instanceId: string };
          if (beat.kind === 'full' && reply.result !== 'offline') accepted.add(beat.instanceId);
        } else {
          // 429: mutations of one instance id sent back to back trip its rate limit, as they should.
          expect([400, 404, 413, 415, 429]).toContain(status);
          if (status === 429) expect(text).toContain('too many beats');
          refused += 1;
          // Each refusal says what is wrong.
          expect(text.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
    // The mutations reach both sides of the schema, or the property proves little.
    expect(accepted.size).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(RUNS / 10);
    await expectConsistent();
  });

  it('survives bodies that are not JSON, or not whole, in any content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        rawBody,
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream'),
        async (body, type) => {
          const beat = await send('PUT', '/api/v1/heartbeat', body, type);
          expect(beat.status, beat.text).toBeLessThan(500);
          const events = await send('POST', '/api/v1/events', body, type);
          expect(events.status, events.text).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
    await expectConsistent();
  });

  it('answers random Nacos calls as Nacos does (text errors), never 5xx, and keeps the list consistent', async () => {
    const param = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom(
        '',
        '0',
        '-1',
        'NaN',
        'Infinity',
        '1e400',
        'true',
        '8080',
        '127.0.0.1',
        '::1',
        'DEFAULT',
        'DEFAULT_GROUP@@svc',
        '{"a":1}',
      ),
    );
    const params = fc.dictionary(
      fc.constantFrom(
        'serviceName',
        'ip',
        'port',
        'weight',
        'healthy',
        'enabled',
        'ephemeral',
        'metadata',
        'clusterName',
        'groupName',
        'namespaceId',
        'beat',
        'clusters',
        'healthyOnly',
        'pageNo',
        'pageSize',
      ),
      param,
      { maxKeys: 8 },
    );
    const call = fc.record({
      method: fc.constantFrom('POST', 'DELETE', 'GET', 'PUT'),
      path: fc.constantFrom('/instance', '/instance/beat', '/instance/list', '/service/list', '/operator/metrics'),
      query: params,
      form: params,
    });
    await fc.assert(
      fc.asyncProperty(call, async ({ method, path, query, form }) => {
        const body = method === 'GET' ? undefined : new URLSearchParams(form).toString();
        const { status, text } = await send(
          method,
          `/nacos/v1/ns${path}?${new URLSearchParams(query)}`,
          body,
          'application/x-www-form-urlencoded',
        );
        expect(status, text).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
    await expectConsistent();
  });
});

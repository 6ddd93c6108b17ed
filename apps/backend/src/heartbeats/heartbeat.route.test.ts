import { describe, expect, it } from 'vitest';
import { ANY, FASTIFY_SPELLING, LIMIT, SCOPED, beatRouteApps, full, json, light } from './heartbeat-route-fixtures.js';
import { exchange, observable, request } from './raw-http-fixtures.js';

/**
 * `PUT /api/v1/heartbeat` is served before Fastify (heartbeat.route.ts, beat-server.ts). These
 * tests run the whole application in this process, listening on a real port, and speak HTTP/1.1
 * over raw sockets so that every status, header and connection close is seen as a client sees it:
 * here, that every request is answered exactly as Fastify's own route answers it (refusals,
 * limits, failures, TLS and shutdown: heartbeat-route-edges.test.ts).
 */

const { start } = beatRouteApps();

/**
 * Requests whose answers must not depend on which of the two ways serves them. Each makes the
 * bytes for a path and a fresh instance id.
 */
const cases: Array<[string, (path: string, id: string) => Array<string | number>, ('tokens' | 'protected')?]> = [
  [
    'a full beat, then a light one on the same connection',
    (p, id) => [request('PUT', p, json, full(id)) + request('PUT', p, json, light(id))],
  ],
  ['a light beat of an unknown instance', (p, id) => [request('PUT', p, json, light(id))]],
  ['a query string', (p, id) => [request('PUT', `${p}?debug=1`, json, full(id))]],
  ['application/json; charset=utf-8', (p, id) => [request('PUT', p, { 'content-type': 'application/json; charset=utf-8' }, full(id))]],
  [
    'a chunked body',
    (p, id) => {
      const b = full(id);
      return [request('PUT', p, { ...json, 'transfer-encoding': 'chunked' }, '') + `${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`];
    },
  ],
  [
    'a body in two pieces',
    (p, id) => {
      const b = full(id);
      return [
        request('PUT', p, json, undefined).replace('\r\n\r\n', `\r\ncontent-length: ${b.length}\r\n\r\n`) + b.slice(0, 20),
        30,
        b.slice(20),
      ];
    },
  ],
  ['malformed JSON, then a pipelined beat', (p, id) => [request('PUT', p, json, '{"v":1,') + request('PUT', p, json, full(id))]],
  ['JSON with trailing bytes', (p) => [request('PUT', p, json, '{"v":1}x')]],
  ['an empty body', (p) => [request('PUT', p, json, '')]],
  ['__proto__ in the body', (p) => [request('PUT', p, json, '{"v":1,"__proto__":{"x":1}}')]],
  ['constructor.prototype in the body', (p) => [request('PUT', p, json, '{"v":1,"constructor":{"prototype":{"x":1}}}')]],
  ['a byte-order mark', (p, id) => [request('PUT', p, json, `\uFEFF${full(id)}`)]],
  ['an escaped __proto__ key', (p) => [request('PUT', p, json, '{"v":1,"\\u005f_proto__":{"x":1}}')]],
  ['an escaped character elsewhere', (p, id) => [request('PUT', p, json, full(id).replace('"h"', '"\\u0068"'))]],
  [
    '__proto__ and constructor as values, not keys',
    (p, id) => [request('PUT', p, json, full(id).replace('"h"', '"__proto__ constructor"'))],
  ],
  [
    'a constructor key without a prototype',
    (p, id) => [request('PUT', p, json, full(id).replace('"plugins":[]', '"plugins":[],"constructor":{"x":1}'))],
  ],
  ['JSON that is not an object', (p) => [request('PUT', p, json, '[1,2]')]],
  [
    'a field of the wrong type',
    (p, id) => [
      request('PUT', p, json, JSON.stringify({ v: 1, kind: 'light', instanceId: id, heartbeatTime: 'now', lastHeartbeatTime: null })),
    ],
  ],
  [
    'a body over the limit (content-length), then a pipelined beat',
    (p, id) => [request('PUT', p, json, 'x'.repeat(LIMIT + 1)) + request('PUT', p, json, full(id))],
  ],
  ['a content-length over the limit, without the body', (p) => [request('PUT', p, { ...json, 'content-length': 10 * LIMIT })]],
  [
    'a chunked body over the limit',
    (p) => [
      request('PUT', p, { ...json, 'transfer-encoding': 'chunked' }, '') +
        `${(LIMIT + 1).toString(16)}\r\n${'x'.repeat(LIMIT + 1)}\r\n0\r\n\r\n`,
    ],
  ],
  ['a body exactly at the limit', (p) => [request('PUT', p, json, `"${'x'.repeat(LIMIT - 2)}"`)]],
  [
    'expect: 100-continue',
    (p, id) => {
      const b = full(id);
      return [request('PUT', p, { ...json, expect: '100-continue', 'content-length': b.length }), 50, b];
    },
  ],
  [
    'twelve beats of one instance in a row (rate limit)',
    (p, id) => [request('PUT', p, json, full(id)) + Array.from({ length: 11 }, () => request('PUT', p, json, light(id))).join('')],
  ],
  ['a cross-site Origin', (p, id) => [request('PUT', p, { ...json, origin: 'http://evil.example' }, full(id))]],
  ['Sec-Fetch-Site: cross-site', (p, id) => [request('PUT', p, { ...json, 'sec-fetch-site': 'cross-site' }, full(id))]],
  ['an Origin of this host', (p, id) => [request('PUT', p, { ...json, origin: 'http://127.0.0.1' }, full(id))]],
  ['a relayed request (X-Forwarded-For)', (p, id) => [request('PUT', p, { ...json, 'x-forwarded-for': '203.0.113.7' }, full(id))]],
  ['another Host name (DNS rebinding)', (p, id) => [request('PUT', p, { ...json, host: 'evil.example' }, full(id))]],
  ['no token', (p, id) => [request('PUT', p, json, full(id))], 'tokens'],
  ['no token, with a body over the limit', (p) => [request('PUT', p, json, 'x'.repeat(LIMIT + 1))], 'tokens'],
  ['an unknown token', (p, id) => [request('PUT', p, { ...json, authorization: 'Bearer not-a-token-at-all-000' }, full(id))], 'tokens'],
  ['a Basic authorization', (p, id) => [request('PUT', p, { ...json, authorization: 'Basic YTpi' }, full(id))], 'tokens'],
  ['a scoped token within its prefix', (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${SCOPED}` }, full(id))], 'tokens'],
  [
    'a scoped token outside its prefix',
    (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${SCOPED}` }, full(id, 'billing'))],
    'tokens',
  ],
  [
    'a scoped token taking over an instance of another service',
    (p, id) => [
      request('PUT', p, { ...json, authorization: `Bearer ${ANY}` }, full(id, 'billing')) +
        request('PUT', p, { ...json, authorization: `Bearer ${SCOPED}` }, full(id)),
    ],
    'tokens',
  ],
  [
    'a token and a cross-site Origin',
    (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${ANY}`, origin: 'http://evil.example' }, full(id))],
    'tokens',
  ],
  [
    'a token, relayed',
    (p, id) => [request('PUT', p, { ...json, authorization: `Bearer ${ANY}`, 'x-forwarded-for': '203.0.113.7' }, full(id))],
    'tokens',
  ],
];

describe('PUT /api/v1/heartbeat before Fastify', () => {
  for (const mode of ['protected', 'tokens'] as const) {
    it(`answers as Fastify's own route does, in every case (${mode === 'tokens' ? 'agent tokens' : 'protected mode'})`, async () => {
      const running = await start(mode === 'tokens' ? { VIGIL_AGENT_TOKENS: `${SCOPED}:orders-,${ANY}` } : {});
      let n = 0;
      for (const [name, make, only] of cases) {
        if (only !== undefined && only !== mode) continue;
        n += 1;
        const auth = mode === 'tokens' && !/token|authorization/i.test(name) ? { authorization: `Bearer ${ANY}` } : undefined;
        const withAuth = (parts: Array<string | number>) =>
          auth === undefined
            ? parts
            : parts.map((part) =>
                typeof part === 'string' ? part.replace(/^(PUT [^\r]+\r\n)/gm, `$1authorization: ${auth.authorization}\r\n`) : part,
              );
        const before = running.served();
        const fast = observable(await exchange(running, withAuth(make('/api/v1/heartbeat', `case-${n}-fast`))));
        expect(running.served(), `${name}: served before Fastify`).toBeGreaterThan(before);
        const middle = running.served();
        const slow = observable(await exchange(running, withAuth(make(FASTIFY_SPELLING, `case-${n}-slow`))));
        expect(running.served(), `${name}: left to Fastify`).toBe(middle);
        expect(fast, name).toEqual(slow);
      }
    }, 60_000);
  }
});

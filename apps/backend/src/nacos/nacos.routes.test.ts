import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { describe, expect, it } from 'vitest';
import { testApps } from '../test-support/test-app-fixtures.js';

/**
 * The Nacos API's token as clients send it (docs/nacos.md, Access): Nacos's `accessToken`
 * parameter, or `Authorization: Bearer <token>`. Real routes through Fastify (`app.inject`),
 * from an address that is not loopback, so only the token lets a call in.
 */

const ANY = 'any-nacos-token-0123456789';
const SCOPED = 'scoped-nacos-token-0123456789';
const ELSEWHERE = '192.0.2.44';

const apps = testApps('nacos-routes');
const start = () => apps.start({ VIGIL_AGENT_TOKENS: `${ANY},${SCOPED}:orders-` });

type Carrier = 'accessToken parameter' | 'Authorization: Bearer';

/** A Nacos call carrying `token` the given way: parameters in the query string, or in a form body for PUT. */
function nacosCall(
  app: NestFastifyApplication,
  carrier: Carrier,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  params: Record<string, string>,
  token?: string,
) {
  const all = new URLSearchParams(params);
  const headers: Record<string, string> = {};
  if (token !== undefined) {
    if (carrier === 'accessToken parameter') all.set('accessToken', token);
    else headers.authorization = `Bearer ${token}`;
  }
  const url = `/nacos/v1/ns${path}`;
  if (method === 'PUT') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return app.inject({ method, url, headers, payload: all.toString(), remoteAddress: ELSEWHERE });
  }
  return app.inject({ method, url: `${url}?${all}`, headers, remoteAddress: ELSEWHERE });
}

describe('Nacos token carriers', () => {
  // The same expectations, once per way of carrying the token: a bearer header is accepted and scoped as the parameter is.
  for (const carrier of ['accessToken parameter', 'Authorization: Bearer'] as const) {
    it(`accepts and scopes a token sent as ${carrier} the same: registers, beats and reads within its prefix only`, async () => {
      const app = await start();
      const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, params: Record<string, string>, token?: string) =>
        nacosCall(app, carrier, method, path, params, token);
      const instance = (serviceName: string) => ({ serviceName, ip: '10.0.0.9', port: '8080' });

      // No token, an unknown one: refused as Nacos refuses them.
      const none = await call('POST', '/instance', instance('orders-a'));
      expect([none.statusCode, none.body]).toEqual([403, 'caused: accessToken required;']);
      const unknown = await call('POST', '/instance', instance('orders-a'), 'unknown-token-0123456789');
      expect([unknown.statusCode, unknown.body]).toEqual([403, 'caused: token invalid!;']);

      // The scoped token registers, beats (form body), reads and deregisters within orders-.
      expect((await call('POST', '/instance', instance('orders-a'), SCOPED)).body).toBe('ok');
      const beat = await call('PUT', '/instance/beat', instance('orders-a'), SCOPED);
      expect(beat.statusCode, beat.body).toBe(200);
      expect(beat.json()).toMatchObject({ code: 10200, clientBeatInterval: expect.any(Number) });
      const listed = await call('GET', '/instance/list', { serviceName: 'orders-a' }, SCOPED);
      expect(listed.statusCode, listed.body).toBe(200);
      expect(listed.json().hosts).toEqual([expect.objectContaining({ ip: '10.0.0.9', port: 8080 })]);

      // ...and nothing outside it, in any call.
      const outside = "caused: service 'payments-a' is outside this token's services;";
      for (const [method, path, params] of [
        ['POST', '/instance', instance('payments-a')],
        ['PUT', '/instance/beat', instance('payments-a')],
        ['DELETE', '/instance', instance('payments-a')],
        ['GET', '/instance/list', { serviceName: 'payments-a' }],
        ['GET', '/instance/list', { serviceName: 'DEFAULT_GROUP@@payments-a' }],
        ['GET', '/instance', instance('payments-a')],
      ] as const) {
        const refused = await call(method, path, params, SCOPED);
        expect([refused.statusCode, refused.body], `${method} ${path} ${params.serviceName}`).toEqual([
          403,
          outside.replace('payments-a', params.serviceName),
        ]);
      }

      // The unscoped token reaches every service; the scoped one lists and counts only its own.
      expect((await call('POST', '/instance', instance('payments-a'), ANY)).body).toBe('ok');
      const page = { pageNo: '1', pageSize: '10' };
      expect((await call('GET', '/service/list', page, SCOPED)).json()).toEqual({ count: 1, doms: ['orders-a'] });
      expect((await call('GET', '/service/list', page, ANY)).json()).toEqual({ count: 2, doms: ['orders-a', 'payments-a'] });
      expect((await call('GET', '/operator/metrics', {}, SCOPED)).json()).toEqual({ status: 'UP' });
      expect((await call('GET', '/operator/metrics', {}, ANY)).json()).toMatchObject({ status: 'UP', instanceCount: 2 });

      expect((await call('DELETE', '/instance', instance('orders-a'), SCOPED)).body).toBe('ok');
      expect((await call('GET', '/instance/list', { serviceName: 'orders-a' }, SCOPED)).json().hosts).toEqual([]);
    });
  }

  it('counts a blank accessToken as absent, as the docs say: refused as missing, and a bearer header beside it is used', async () => {
    const app = await start();
    const url = '/nacos/v1/ns/instance/list?serviceName=orders-a&accessToken=%20';
    const blank = await app.inject({ method: 'GET', url, remoteAddress: ELSEWHERE });
    expect([blank.statusCode, blank.body]).toEqual([403, 'caused: accessToken required;']);
    const withBearer = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${SCOPED}` }, remoteAddress: ELSEWHERE });
    expect(withBearer.statusCode, withBearer.body).toBe(200);
  });
});

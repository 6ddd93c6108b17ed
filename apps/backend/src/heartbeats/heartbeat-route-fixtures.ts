import type { IncomingMessage, ServerResponse } from 'node:http';
import { testApps } from '../test-support/test-app-fixtures.js';
import { exchange, request, type Running } from './raw-http-fixtures.js';
import { HeartbeatRoute } from './heartbeat.route.js';

/**
 * What the tests of `PUT /api/v1/heartbeat` served before Fastify share (heartbeat.route.test.ts,
 * heartbeat-route-edges.test.ts): the whole application in the test's process, listening on a
 * real port, with a count of the requests the fast path answered; beats as raw bodies.
 */

export const SCOPED = 'scoped-token-0123456789';
export const ANY = 'any-token-0123456789abc';
export const LIMIT = 262_144;

/** The same route as Fastify sees it, spelled so that the fast path leaves it to Fastify (find-my-way decodes `%74`). */
export const FASTIFY_SPELLING = '/api/v1/heartbea%74';

/** Call once at the top of a test file: `start` runs an app that is closed after each test. */
export function beatRouteApps() {
  const apps = testApps('route');
  return {
    release: apps.release,
    async start(env: NodeJS.ProcessEnv = {}, tls?: Buffer): Promise<Running> {
      const app = await apps.create(env);
      const route = app.get(HeartbeatRoute);
      const serve = route.serve.bind(route);
      let served = 0;
      route.serve = (request: IncomingMessage, response: ServerResponse) => {
        const answered = serve(request, response);
        if (answered) served += 1;
        return answered;
      };
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.getHttpServer().address() as { port: number }).port;
      return { app, port, served: () => served, tls };
    },
  };
}

export const json = { 'content-type': 'application/json' };
export const full = (instanceId: string, service = 'orders-api') =>
  JSON.stringify({
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: Date.now(),
    lastHeartbeatTime: null,
    service,
    appName: 'a',
    artifact: 'a',
    appType: 'default',
    hostName: 'h',
    ip: ['10.0.0.1'],
    processId: 1,
    dynamicInstall: false,
    version: '1',
    plugins: [],
  });
export const light = (instanceId: string) =>
  JSON.stringify({ v: 1, kind: 'light', instanceId, heartbeatTime: Date.now(), lastHeartbeatTime: null });

export async function rejectedBeats(running: Running): Promise<number> {
  const { answers } = await exchange(running, [request('GET', '/metrics', {})]);
  return Number(/^vigil_beats_rejected_total (\d+)$/m.exec(answers[0]!.body)?.[1]);
}

/**
 * The beat socket against the real backend: agents keep one WebSocket open and beat over it;
 * HTTP stays available (and chosen with `heartbeat.transport=http`); bad messages are answered,
 * never crash anything.
 */
import { HEARTBEAT_SOCKET_PATH, LIMITS, type BeatSocketAnswer } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { elsewhere, leaveElsewhere } from './elsewhere.js';
import { fullBeat as harnessFullBeat, instanceOfPid, killAll, startAgentApp, startBackend, waitFor, type Backend } from './harness.js';

const INTERVAL_MS = 500;

/** A value of the backend's Prometheus metrics, e.g. `vigil_beat_sockets`; 0 for a series not exported yet. */
async function metric(backend: Backend, line: string): Promise<number> {
  const text = await (await fetch(`${backend.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

function openSocket(backend: Backend, headers: Record<string, string> = {}, base = backend.url): Promise<WebSocket> {
  const socket = new WebSocket(base.replace('http', 'ws') + HEARTBEAT_SOCKET_PATH, { headers });
  return new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject));
}

/** The HTTP status and body a refused upgrade gets. */
function refusedUpgrade(
  backend: Backend,
  headers: Record<string, string> = {},
  base = backend.url,
): Promise<{ status: number; body: string }> {
  const socket = new WebSocket(base.replace('http', 'ws') + HEARTBEAT_SOCKET_PATH, { headers });
  return new Promise((resolve, reject) => {
    socket.once('open', () => reject(new Error('the upgrade was accepted')));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', () => undefined);
  });
}

/** Sends each message and collects as many answers. */
async function exchange(socket: WebSocket, messages: Array<string | Buffer>): Promise<BeatSocketAnswer[]> {
  const answers: BeatSocketAnswer[] = [];
  const done = new Promise<void>((resolve) =>
    socket.on('message', (data) => {
      answers.push(JSON.parse(String(data)) as BeatSocketAnswer);
      if (answers.length === messages.length) resolve();
    }),
  );
  for (const message of messages) socket.send(message);
  await done;
  return answers;
}

const fullBeat = (instanceId: string) =>
  harnessFullBeat(instanceId, { service: 'socket-raw', hostName: 'host-a', ip: ['127.0.0.1'], processId: 77 });

describe('the beat socket', () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await startBackend({ VIGIL_LOST_AFTER_MS: '60000' });
  });
  afterAll(() => killAll());

  it('carries the beats of an agent by default, and its goodbye: offline on SIGTERM', async () => {
    const app = startAgentApp({ moduleSystem: 'esm', service: 'socket-agent', backendUrl: backend.url, intervalMs: INTERVAL_MS });
    const instance = await waitFor('the agent to beat over the socket', async () => {
      const found = await instanceOfPid(backend, app.pid);
      return found?.status === 'healthy' && (await metric(backend, 'vigil_beat_sockets')) === 1 ? found : undefined;
    });
    // The lease keeps being renewed over the socket.
    const light = await metric(backend, 'vigil_beats_received_total{kind="light"}');
    await waitFor('two more light beats', async () =>
      (await metric(backend, 'vigil_beats_received_total{kind="light"}')) >= light + 2 ? true : undefined,
    );
    expect(await metric(backend, 'vigil_beat_sockets')).toBe(1);
    expect((await backend.instance(instance.instanceId))?.plugins[0]).toMatchObject({ name: 'template', extInfo: { status: 'started' } });

    // Only a goodbye shows offline: a lease running out shows lost, and that takes a minute here.
    app.child.kill('SIGTERM');
    await waitFor('offline', async () => ((await backend.instance(instance.instanceId))?.status === 'offline' ? true : undefined), 15_000);
    await waitFor('the socket to close', async () => ((await metric(backend, 'vigil_beat_sockets')) === 0 ? true : undefined));
  });

  it('leaves beats on HTTP requests with heartbeat.transport=http', async () => {
    const app = startAgentApp({
      moduleSystem: 'cjs',
      service: 'http-agent',
      backendUrl: backend.url,
      intervalMs: INTERVAL_MS,
      env: { VIGIL_HEARTBEAT_TRANSPORT: 'http' },
    });
    await waitFor('the instance', async () => ((await instanceOfPid(backend, app.pid))?.status === 'healthy' ? true : undefined));
    const light = await metric(backend, 'vigil_beats_received_total{kind="light"}');
    await waitFor('three more light beats', async () =>
      (await metric(backend, 'vigil_beats_received_total{kind="light"}')) >= light + 3 ? true : undefined,
    );
    expect((await instanceOfPid(backend, app.pid))?.status).toBe('healthy');
    expect(await metric(backend, 'vigil_beat_sockets')).toBe(0);
    app.child.kill('SIGKILL');
  });

  it('answers every message in order, naming what is wrong with a bad one, and keeps the connection', async () => {
    const socket = await openSocket(backend);
    const answers = await exchange(socket, [
      JSON.stringify(fullBeat('raw-1')),
      '{"v":1,',
      JSON.stringify({ ...fullBeat('raw-1'), processId: -1, ip: 'nope' }),
      JSON.stringify({ v: 1, kind: 'light', instanceId: 'raw-1', heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() }),
      JSON.stringify({ v: 1, kind: 'light', instanceId: 'never-seen', heartbeatTime: Date.now(), lastHeartbeatTime: null }),
      // A binary message, even of a valid beat: beats are JSON text.
      Buffer.from(JSON.stringify({ v: 1, kind: 'light', instanceId: 'raw-1', heartbeatTime: Date.now(), lastHeartbeatTime: Date.now() })),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 400, 400, 200, 200, 400]);
    expect(answers[0]?.body).toMatchObject({ result: 'registered' });
    expect(answers[1]?.body).toMatchObject({ error: expect.stringContaining('invalid JSON') });
    expect(answers[2]?.body).toMatchObject({ error: 'invalid heartbeat' });
    const issues = (answers[2]?.body as { issues: string[] }).issues.join('; ');
    expect(issues).toContain('processId');
    expect(issues).toContain('ip');
    expect(answers[3]?.body).toMatchObject({ result: 'renewed' });
    expect(answers[4]?.body).toMatchObject({ result: 'unknown' });
    expect(answers[5]?.body).toMatchObject({ error: expect.stringContaining('beats are JSON text messages') });
    expect((await backend.instance('raw-1'))?.status).toBe('healthy');
    socket.close();
  });

  it('closes a socket that sends a message over the beat size limit (1009), and the backend carries on', async () => {
    const socket = await openSocket(backend);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(LIMITS.beatBodyBytes + 1));
    expect(await closed).toBe(1009);
    const again = await openSocket(backend);
    expect((await exchange(again, [JSON.stringify(fullBeat('raw-2'))]))[0]?.status).toBe(200);
    again.close();
  });
});

describe('the beat socket, with access rules', () => {
  const TOKEN = 'socket-token-e2e-0123456789';
  const SCOPED = 'socket-scoped-e2e-0123456789';
  afterAll(() => {
    killAll();
    leaveElsewhere();
  });

  it('refuses the upgrade from another address in protected mode (403, with how to configure access)', async () => {
    const backend = await startBackend({ VIGIL_HOST: '0.0.0.0' });
    const refused = await refusedUpgrade(backend, {}, (await elsewhere(backend)).url);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('protected mode');
    expect(refused.body).toContain('VIGIL_AGENT_TOKENS');
    // From loopback it opens.
    (await openSocket(backend)).close();
  });

  it('wants an agent token when tokens are set, holds a scoped token to its services, and refuses another site’s page', async () => {
    const backend = await startBackend({ VIGIL_AGENT_TOKENS: `${TOKEN},${SCOPED}:orders-` });
    expect((await refusedUpgrade(backend)).status).toBe(401);
    expect((await refusedUpgrade(backend, { authorization: 'Bearer not-a-token-at-all-000' })).status).toBe(401);
    const crossSite = await refusedUpgrade(backend, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body).toContain('cross-site');

    const scoped = await openSocket(backend, { authorization: `Bearer ${SCOPED}` });
    const [inside, outside] = await exchange(scoped, [
      JSON.stringify({ ...fullBeat('sock-scoped-1'), service: 'orders-api' }),
      JSON.stringify({ ...fullBeat('sock-scoped-2'), service: 'billing' }),
    ]);
    expect(inside?.status).toBe(200);
    expect(outside?.status).toBe(403);
    expect(JSON.stringify(outside?.body)).toContain("only speaks for services starting with 'orders-'");
    scoped.close();

    // A real agent with the token beats over the socket.
    const app = startAgentApp({
      moduleSystem: 'esm',
      service: 'socket-token',
      backendUrl: backend.url,
      intervalMs: INTERVAL_MS,
      env: { VIGIL_AGENT_TOKEN: TOKEN },
    });
    await waitFor('the agent to beat over the socket with its token', async () =>
      (await instanceOfPid(backend, app.pid))?.status === 'healthy' && (await metric(backend, 'vigil_beat_sockets')) === 1
        ? true
        : undefined,
    );
    expect((await backend.instances()).instances.map((i) => i.instanceId)).not.toContain('sock-scoped-2');
    app.child.kill('SIGKILL');
  });
});

describe('the beat socket, at backend shutdown', () => {
  afterAll(() => killAll());

  it('closes every open socket with 1001 (going away) when the backend gets SIGTERM', async () => {
    const backend = await startBackend();
    const sockets = [await openSocket(backend), await openSocket(backend)];
    // Both are open and served before the shutdown.
    for (const [i, socket] of sockets.entries())
      expect((await exchange(socket, [JSON.stringify(fullBeat(`going-${i}`))]))[0]?.status).toBe(200);
    const closes = sockets.map(
      (socket) =>
        new Promise<{ code: number; reason: string }>((resolve) =>
          socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
        ),
    );
    backend.child.kill('SIGTERM');
    for (const close of await Promise.all(closes)) expect(close).toEqual({ code: 1001, reason: 'backend shutting down' });
    // And the backend ends (by the signal, as Nest's shutdown hooks re-raise it).
    expect(await backend.exited).toBeNull();
  });
});

import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HEARTBEAT_SOCKET_PATH, type BeatSocketAnswer } from '@vigil/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { createApp } from '../app.js';
import { loadConfig } from '../config/vigil-config.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { BEAT_SOCKET_PING_MS, BeatSocketServer, MAX_UNREAD_REPLY_BYTES, encodeAnswer } from './beat-socket.js';

describe('encodeAnswer', () => {
  it('writes exactly what JSON.stringify writes, for every kind of answer', () => {
    const answers: BeatSocketAnswer[] = [
      { status: 200, body: { result: 'renewed', serverTime: 1_790_000_000_123 } },
      { status: 200, body: { result: 'registered', serverTime: 1_790_000_000_123, interval: 5000 } },
      { status: 200, body: { result: 'unknown', serverTime: 0 } },
      { status: 200, body: { result: 'registered', serverTime: 7, interval: 5000, eventsTaken: true } },
      {
        status: 200,
        body: { result: 'renewed', serverTime: 5, interval: 100, commands: [{ id: 'c1', type: 'plugin.disable', plugin: 'template' }] },
      },
      { status: 200, body: { result: 'renewed', serverTime: 9, config: [{ plugin: 'template', version: 3, values: { greeting: 'hi' } }] } },
      { status: 429, body: { error: 'too many beats', message: 'slow down', interval: 5000 } },
      { status: 400, body: { error: 'invalid heartbeat', issues: ['kind: "quote\\"d"'] } },
    ];
    for (const answer of answers) {
      expect(encodeAnswer(answer)).toBe(JSON.stringify(answer));
      expect(JSON.parse(encodeAnswer(answer))).toEqual(answer);
    }
  });
});

/**
 * The server side of the beat socket, in the whole application run in this process on a real
 * port, with real WebSocket clients.
 */
async function startApp(pingMs?: number): Promise<{ app: NestFastifyApplication; url: string; defaultPingMs: number }> {
  const app = await createApp(loadConfig({ VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-socket-')), VIGIL_LOG_LEVEL: 'fatal' }));
  // The ping interval is read when the application starts: a test may shorten it before.
  const server = app.get(BeatSocketServer);
  const defaultPingMs = server.pingMs;
  if (pingMs !== undefined) server.pingMs = pingMs;
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}${HEARTBEAT_SOCKET_PATH}`;
  return { app, url, defaultPingMs };
}

function open(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, options);
  return new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject));
}

/** Sends a light beat and waits for its answer. */
function beat(socket: WebSocket, instanceId: string): Promise<BeatSocketAnswer> {
  const answered = new Promise<BeatSocketAnswer>((resolve) =>
    socket.once('message', (data) => resolve(JSON.parse(String(data)) as BeatSocketAnswer)),
  );
  socket.send(JSON.stringify({ v: 1, kind: 'light', instanceId, heartbeatTime: Date.now(), lastHeartbeatTime: null }));
  return answered;
}

const closeOf = (socket: WebSocket) => new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));

/** The client's TCP connection under the WebSocket: pausing it stops reading, as a stuck client does. */
const rawOf = (socket: WebSocket) => (socket as unknown as { _socket: Socket })._socket;

describe('the beat socket server: pings', () => {
  // Pings every 500 ms here instead of every 30 s: time enough for a pong on a busy machine.
  const PING_MS = 500;
  let app: NestFastifyApplication;
  let url: string;
  let defaultPingMs: number;

  beforeAll(async () => {
    ({ app, url, defaultPingMs } = await startApp(PING_MS));
  });
  afterAll(() => app.close());

  it('pings every 30 s unless told otherwise (BEAT_SOCKET_PING_MS, as docs/protocol.md says)', () => {
    expect(BEAT_SOCKET_PING_MS).toBe(30_000);
    expect(defaultPingMs).toBe(BEAT_SOCKET_PING_MS);
  });

  it('drops a socket that does not answer a ping by the next one, and keeps one that answers', async () => {
    // Each socket is watched from the moment it opens: the pings come every PING_MS.
    const silent = await open(url, { autoPong: false });
    let silentPings = 0;
    let silentClose: number | undefined;
    silent.on('ping', () => silentPings++);
    silent.once('close', (code) => (silentClose = code));
    const answering = await open(url);
    let answeredPings = 0;
    answering.on('ping', () => answeredPings++);
    // Dropped without a close handshake: 1006 on the client's side.
    await expect.poll(() => silentClose, { timeout: 10_000 }).toBe(1006);
    expect(silentPings).toBeGreaterThanOrEqual(1);
    // The socket that answers is pinged again and again and still served.
    const seen = answeredPings;
    await expect.poll(() => answeredPings, { timeout: 10_000 }).toBeGreaterThanOrEqual(seen + 2);
    expect(answering.readyState).toBe(WebSocket.OPEN);
    expect((await beat(answering, 'pinged-1')).body).toMatchObject({ result: 'unknown' });
    answering.close();
  });
});

describe('the beat socket server: clients that do not read', () => {
  // The default pings (every 30 s): a client that stops reading does not answer them either,
  // and must be dropped here for what it leaves unread, long before a ping would drop it.
  let app: NestFastifyApplication;
  let url: string;

  beforeAll(async () => {
    ({ app, url } = await startApp());
  });
  afterAll(() => app.close());

  /** A beat answered with 400 and ~30 KB of issues (576 of them), so that answers pile up fast. */
  const WIDE_BAD_BEAT = JSON.stringify({
    v: 1,
    kind: 'full',
    instanceId: 'wide',
    plugins: Array.from({ length: 128 }, () => ({})),
    ip: Array(64).fill('x'),
  });
  /** ~90 MB of answers: far more than the socket buffers between the two can hold. */
  const WIDE_BEATS = 3_000;
  /** ~750 KB of answers. */
  const LATE_BEATS = 25;

  it(`drops a client that leaves over ${MAX_UNREAD_REPLY_BYTES / 1024 / 1024} MiB of answers unread while it sends beats, and serves the others`, async () => {
    const reader = await open(url);
    const stalled = await open(url);
    stalled.on('error', () => undefined);
    let closed = false;
    const dropped = closeOf(stalled).then((code) => {
      closed = true;
      return code;
    });
    rawOf(stalled).pause();
    for (let i = 0; i < WIDE_BEATS; i++) stalled.send(WIDE_BAD_BEAT);
    // It beats on, as an agent does, and learns the connection is gone when a beat cannot be sent.
    await expect
      .poll(
        () => {
          if (!closed)
            stalled.send(
              JSON.stringify({ v: 1, kind: 'light', instanceId: 'stalled-1', heartbeatTime: Date.now(), lastHeartbeatTime: null }),
            );
          return closed;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
    // Dropped without a close handshake: 1006 on the client's side.
    expect(await dropped).toBe(1006);
    // The client that reads is still served, and new ones too.
    expect((await beat(reader, 'reader-1')).status).toBe(200);
    const again = await open(url);
    expect((await beat(again, 'reader-2')).status).toBe(200);
    reader.close();
    again.close();
  });

  it('keeps a client that reads late, leaving less than that unread, and it gets every answer in order', async () => {
    const late = await open(url);
    const answers: BeatSocketAnswer[] = [];
    late.on('message', (data) => answers.push(JSON.parse(String(data)) as BeatSocketAnswer));
    rawOf(late).pause();
    // ~750 KB of answers (under the limit whatever the socket buffers hold), then a full beat registering an instance.
    for (let i = 0; i < LATE_BEATS; i++) late.send(WIDE_BAD_BEAT);
    late.send(
      JSON.stringify({
        v: 1,
        kind: 'full',
        instanceId: 'late-1',
        heartbeatTime: Date.now(),
        lastHeartbeatTime: null,
        service: 'late',
        appName: 'late',
        artifact: 'late',
        appType: 'default',
        hostName: 'h',
        ip: [],
        processId: 1,
        dynamicInstall: false,
        version: '1',
        plugins: [],
      }),
    );
    // It reads nothing until the backend has handled them all (beats are handled in order).
    await expect.poll(() => app.get(InstanceRegistry).get('late-1') !== undefined, { timeout: 10_000 }).toBe(true);
    expect(answers).toEqual([]);
    rawOf(late).resume();
    await expect.poll(() => answers.length, { timeout: 10_000 }).toBe(LATE_BEATS + 1);
    expect(answers.map((a) => a.status)).toEqual([...Array(LATE_BEATS).fill(400), 200]);
    expect(answers[LATE_BEATS]?.body).toMatchObject({ result: 'registered' });
    expect(late.readyState).toBe(WebSocket.OPEN);
    late.close();
  });
});

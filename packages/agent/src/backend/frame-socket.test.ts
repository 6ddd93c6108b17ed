import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HEARTBEAT_PATH, HEARTBEAT_SOCKET_PATH } from '@vigil/protocol/constants';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { BackendLink } from './backend-link';
import { BeatSocketLink } from './beat-socket';
import { FrameSocket, type FrameSocketEvents } from './frame-socket';

/** A ws server (the reference implementation) on a plain node:http server; `onSocket` gets each server-side socket. */
async function wsServer(
  onSocket: (ws: WebSocket) => void,
  server: Server = createServer(),
): Promise<{ url: string; wss: WebSocketServer; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ server });
  wss.on('connection', onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const scheme = 'key' in server ? 'wss' : 'ws';
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}${HEARTBEAT_SOCKET_PATH}`,
    wss,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Recorded extends FrameSocketEvents {
  opened: number;
  messages: (string | undefined)[];
  closes: [number, string][];
}

function recorder(): Recorded {
  const recorded: Recorded = {
    opened: 0,
    messages: [],
    closes: [],
    onOpen: () => void (recorded.opened += 1),
    onMessage: (text) => void recorded.messages.push(text),
    onClose: (code, reason) => void recorded.closes.push([code, reason]),
  };
  return recorded;
}

function client(url: string, events: FrameSocketEvents, handshakeTimeoutMs = 5_000): FrameSocket {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect({ host: hostname, port: Number(port) });
  return new FrameSocket(
    socket,
    'connect',
    { url, headers: { authorization: 'Bearer t' }, maxPayload: 64 * 1024, handshakeTimeoutMs },
    events,
  );
}

describe('FrameSocket (the beat socket client) against ws', () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('opens with the given headers, exchanges text messages of every length encoding, and closes both ways', async () => {
    const headers: (string | undefined)[] = [];
    const received: string[] = [];
    const server = await wsServer((ws) => {
      ws.on('message', (data, isBinary) => {
        received.push(String(data));
        ws.send(isBinary ? data : `echo ${String(data)}`);
      });
    });
    server.wss.on('headers', (_h, req) => headers.push(req.headers.authorization));
    cleanups.push(server.close);
    const events = recorder();
    const socket = client(server.url, events);
    await vi.waitFor(() => expect(events.opened).toBe(1), { timeout: 10_000 });
    expect(headers).toEqual(['Bearer t']);
    const texts = ['short', 'm'.repeat(300), 'l'.repeat(70_000)];
    for (const text of texts) socket.send(text);
    await vi.waitFor(() => expect(received).toEqual(texts), { timeout: 10_000 });
    // 70,006 bytes of answer are over the 64 KiB the client takes: the two first only.
    await vi.waitFor(() => expect(events.closes).toEqual([[1009, '']]), { timeout: 10_000 });
    expect(events.messages).toEqual(['echo short', `echo ${'m'.repeat(300)}`]);
  });

  it('answers pings, takes fragmented and binary messages, and reports the server closing with its code and reason', async () => {
    let pongs = 0;
    const server = await wsServer((ws) => {
      ws.on('pong', (data) => {
        if (String(data) === 'are you there') pongs += 1;
      });
      ws.ping('are you there');
      ws.send('frag', { fin: false });
      ws.send('mented', { fin: true });
      ws.send(Buffer.from([1, 2, 3]), { binary: true });
      setTimeout(() => ws.close(4000, 'bye'), 50);
    });
    cleanups.push(server.close);
    const events = recorder();
    client(server.url, events);
    await vi.waitFor(() => expect(events.closes).toEqual([[4000, 'bye']]), { timeout: 10_000 });
    expect(pongs).toBe(1);
    expect(events.messages).toEqual(['fragmented', undefined]);
  });

  it('closes when asked: the closing handshake, then the connection ends', async () => {
    const serverCloses: number[] = [];
    const server = await wsServer((ws) => ws.on('close', (code) => serverCloses.push(code)));
    cleanups.push(server.close);
    const events = recorder();
    const socket = client(server.url, events);
    await vi.waitFor(() => expect(events.opened).toBe(1), { timeout: 10_000 });
    socket.close();
    expect(socket.isOpen).toBe(false);
    expect(() => socket.send('late')).toThrow();
    await vi.waitFor(() => expect(events.closes).toEqual([[1000, '']]), { timeout: 10_000 });
    await vi.waitFor(() => expect(serverCloses).toEqual([1000]), { timeout: 10_000 });
  });

  it('does not open on an answer other than a 101 with the right accept key, nor after the handshake timeout', async () => {
    const answers = [
      'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong=\r\n\r\n',
      undefined,
    ];
    let next = 0;
    const sockets: Socket[] = [];
    const server = createNetServer((socket) => {
      sockets.push(socket);
      const answer = answers[next++];
      socket.once('data', () => {
        if (answer !== undefined) socket.write(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${HEARTBEAT_SOCKET_PATH}`;
    for (const timeoutMs of [5_000, 5_000, 200]) {
      const events = recorder();
      client(url, events, timeoutMs);
      await vi.waitFor(() => expect(events.closes).toEqual([[1006, '']]), { timeout: 10_000 });
      expect(events.opened).toBe(0);
    }
  });

  it('carries beats over wss:// with the link CA (certificates verified)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vigil-frame-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const viaSocket: unknown[] = [];
    const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"renewed"}'));
    });
    const server = await wsServer(
      (ws) => {
        ws.on('message', (data) => {
          viaSocket.push(JSON.parse(String(data)));
          ws.send(JSON.stringify({ status: 200, body: { result: 'renewed' } }));
        });
      },
      https as unknown as Server,
    );
    cleanups.push(server.close);
    const httpUrl = server.url.replace('wss:', 'https:').replace(HEARTBEAT_SOCKET_PATH, '');
    const link = new BackendLink([httpUrl], { keepAliveMs: 1000, ca: readFileSync(cert, 'utf8') });
    cleanups.push(() => link.close());
    const beats = new BeatSocketLink(link, { retryMinMs: 50, retryMaxMs: 400 });
    await vi.waitFor(
      async () => {
        expect((await beats.send('PUT', HEARTBEAT_PATH, { n: 'open?' }, 2_000)).status).toBe(200);
        expect(beats.connected).toBe(true);
      },
      { timeout: 10_000, interval: 50 },
    );
    expect((await beats.send('PUT', HEARTBEAT_PATH, { n: 1 }, 2_000)).status).toBe(200);
    expect(viaSocket.at(-1)).toEqual({ n: 1 });
    // Without the CA the certificate is not trusted: no socket, beats fail over HTTP too.
    const untrusting = new BackendLink([httpUrl], { keepAliveMs: 1000 });
    cleanups.push(() => untrusting.close());
    const refused = new BeatSocketLink(untrusting, { retryMinMs: 50, retryMaxMs: 400 });
    await expect(refused.send('PUT', HEARTBEAT_PATH, { n: 'x' }, 2_000)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(refused.send('PUT', HEARTBEAT_PATH, { n: 'y' }, 2_000)).rejects.toThrow();
    expect(refused.connected).toBe(false);
  });
});

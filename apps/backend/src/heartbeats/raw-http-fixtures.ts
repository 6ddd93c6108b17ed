import type { Socket } from 'node:net';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** Raw HTTP/1.1 over sockets, for the tests of the beat route served before Fastify (heartbeat.route.test.ts). */

export interface Running {
  app: NestFastifyApplication;
  port: number;
  /** How many requests the fast path answered (the rest went to Fastify). */
  served: () => number;
  tls?: Buffer;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends raw bytes (strings, with pauses given as numbers of ms) and reads every answer until
 * each request sent has its whole answer, the server closes, or it stays quiet for `quietMs`
 * (for answers that cannot be counted, such as a HEAD's).
 */
export function exchange(
  running: Running,
  parts: Array<string | number>,
  quietMs = 2_000,
): Promise<{ answers: Answer[]; closed: boolean }> {
  const requests =
    parts
      .filter((part) => typeof part === 'string')
      .join('')
      .match(/(GET|HEAD|PUT|POST|PATCH|DELETE|OPTIONS) \S+ HTTP\/1\.1\r\n/g)?.length ?? 0;
  return new Promise((resolve) => {
    const socket: Socket = running.tls
      ? tlsConnect({ host: '127.0.0.1', port: running.port, ca: running.tls, servername: undefined })
      : netConnect(running.port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ answers: parseAnswers(data.toString('latin1')), closed });
    };
    const quiet = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const read = readAnswers(data.toString('latin1'));
      const last = read.answers.at(-1);
      // An answer saying `connection: close` is followed by the close the test may look for.
      if (read.complete && last?.headers.connection !== 'close' && read.answers.filter((a) => a.status !== 100).length >= requests)
        finish();
      else quiet();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.once(running.tls ? 'secureConnect' : 'connect', async () => {
      for (const part of parts) {
        if (typeof part === 'number') await new Promise((r) => setTimeout(r, part));
        else socket.write(part);
      }
      quiet();
    });
  });
}

export function parseAnswers(text: string): Answer[] {
  return readAnswers(text).answers;
}

/** The answers in `text`, and whether it ends with a whole one. */
export function readAnswers(text: string): { answers: Answer[]; complete: boolean } {
  const answers: Answer[] = [];
  let rest = text;
  let complete = true;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return { answers, complete: false };
    const lines = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const status = Number(lines[0]!.split(' ')[1]);
    const bodyLength = status === 100 ? 0 : length;
    answers.push({ status, headers, body: rest.slice(end + 4, end + 4 + bodyLength) });
    complete = rest.length >= end + 4 + bodyLength;
    rest = rest.slice(end + 4 + bodyLength);
  }
  return { answers, complete: complete && rest.length === 0 };
}

export function request(method: string, path: string, headers: Record<string, string | number>, body?: string): string {
  const all: Record<string, string | number> = { host: '127.0.0.1', ...headers };
  if (body !== undefined && all['content-length'] === undefined && all['transfer-encoding'] === undefined)
    all['content-length'] = Buffer.byteLength(body);
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${body ?? ''}`;
}

/** What a client can tell apart: status, the headers that matter, the body (its times and instance ids blanked). */
export function observable({ answers, closed }: { answers: Answer[]; closed: boolean }): unknown {
  return {
    closed,
    answers: answers.map((a) => ({
      status: a.status,
      contentType: a.headers['content-type'],
      wwwAuthenticate: a.headers['www-authenticate'],
      connection: a.headers.connection,
      keepAlive: a.headers['keep-alive'],
      body: a.body.replace(/"serverTime":\d+/g, '"serverTime":0').replace(/case-\d+-[a-z]+/g, 'ID'),
    })),
  };
}

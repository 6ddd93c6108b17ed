import { Socket } from 'node:net';
import { BEAT_RESULTS, HEARTBEAT_PATH } from '@vigil/protocol/constants';
import type { BeatReply, Heartbeat } from '@vigil/protocol/types';
import { Pool, buildConnector } from 'undici';

export interface BeatClientOptions {
  /** Deadline for one beat, connect to reply. */
  timeoutMs: number;
  /** How long the idle connection is kept for the next beat, unless the backend hints shorter. */
  keepAliveMs: number;
}

/**
 * Sends beats to the backend: `PUT <backend><HEARTBEAT_PATH>` with a JSON body, over one
 * kept-alive connection of the agent's own undici pool. undici, not node:http, so plugins that
 * intercept http never see the agent's traffic.
 */
export class BeatClient {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    backendUrl: string,
    private readonly options: BeatClientOptions,
  ) {
    const url = new URL(backendUrl);
    // A backend URL with a path (behind a reverse proxy) keeps it in front of the heartbeat path.
    this.path = url.pathname.replace(/\/+$/, '') + HEARTBEAT_PATH;
    this.pool = new Pool(url.origin, {
      connections: 1,
      connect: detachedConnector(options.timeoutMs),
      keepAliveTimeout: options.keepAliveMs,
    });
  }

  /** Resolves with the backend's reply; rejects on network errors, timeout, non-2xx or a malformed reply. */
  async send(beat: Heartbeat): Promise<BeatReply> {
    const { statusCode, body } = await this.pool.request({
      path: this.path,
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(beat),
      // AbortSignal.timeout's timer is unref'd, so a pending deadline does not hold the host either.
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (statusCode < 200 || statusCode > 299) {
      await body.dump();
      throw new Error(`backend answered HTTP ${statusCode}`);
    }
    return parseReply(await body.json());
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

function parseReply(reply: unknown): BeatReply {
  const { result, serverTime } = (reply ?? {}) as Partial<Record<keyof BeatReply, unknown>>;
  if (!BEAT_RESULTS.includes(result as BeatReply['result']) || typeof serverTime !== 'number') {
    throw new Error(`backend sent an unexpected reply: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  return { result: result as BeatReply['result'], serverTime };
}

/**
 * undici's connector, but the agent's sockets never keep the host process alive: not while idle
 * (undici unrefs those itself) and not while a beat is in flight, when undici would ref them, so
 * `ref` is disabled on them. An app that ends while the backend is slow exits at once.
 */
function detachedConnector(timeoutMs: number): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs });
  return (options, callback) => {
    // undici's connector returns the socket it is connecting (its types say void); detaching it
    // right away covers the connect phase, e.g. a backend host that drops packets.
    const socket: unknown = connect(options, callback);
    if (socket instanceof Socket) {
      socket.unref();
      socket.ref = () => socket;
    }
  };
}

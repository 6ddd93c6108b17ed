/**
 * A dashboard's socket, as the dashboard opens it (socket.io-client, path /socket.io), for the
 * benches: it subscribes with a view (`subscribe` + acknowledgement carrying the snapshot, the
 * current protocol) and also accepts a `snapshot` pushed on connect (the first protocol, which the
 * bare prototype server speaks). Counts the bytes of every message it receives.
 */
import { io } from 'socket.io-client';

/**
 * @param {string} url
 * @param {{ view?: object, onDelta?: (delta: object, receivedAt: number) => void, onSnapshot?: (s: object, receivedAt: number) => void }} options
 */
export async function connectDashboard(url, { view = { window: null, watch: [] }, onDelta, onSnapshot } = {}) {
  const socket = io(url, { path: '/socket.io', transports: ['websocket'], reconnection: false, forceNew: true });
  const client = { socket, bytes: 0, messages: 0, snapshot: undefined, snapshotAt: NaN, protocol: undefined };
  socket.io.on('open', () => {
    socket.io.engine.on('packet', (packet) => {
      if (packet.type !== 'message') return;
      client.bytes += typeof packet.data === 'string' ? Buffer.byteLength(packet.data) : (packet.data?.byteLength ?? 0);
      client.messages++;
    });
  });
  const gotSnapshot = (snapshot, protocol) => {
    client.snapshotAt = Date.now();
    client.snapshot = snapshot;
    client.protocol ??= protocol;
    onSnapshot?.(snapshot, client.snapshotAt);
  };
  socket.on('snapshot', (snapshot) => gotSnapshot(snapshot, 'push'));
  socket.on('delta', (delta) => onDelta?.(delta, Date.now()));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  // A server of the first protocol pushes its snapshot right after connecting.
  for (let i = 0; i < 5 && !client.snapshot; i++) await new Promise((r) => setTimeout(r, 20));
  client.subscribe = (nextView) =>
    new Promise((resolve, reject) => {
      if (client.protocol === 'push') return resolve(client.snapshot);
      // A server of the first protocol never acknowledges: its pushed snapshot is the answer.
      const timer = setTimeout(() => resolve(client.snapshot), 2000);
      socket.emit('subscribe', nextView, (reply) => {
        clearTimeout(timer);
        if (!reply?.ok) return reject(new Error(`subscribe refused: ${JSON.stringify(reply)}`));
        gotSnapshot(reply.snapshot, 'subscribe');
        resolve(reply.snapshot);
      });
    });
  await client.subscribe(view);
  client.close = () => socket.disconnect();
  return client;
}

/** Instances of a delta (or of a snapshot) in either protocol. */
export function upsertsOf(delta) {
  return delta.upserts ?? [];
}

export function instancesOfSnapshot(snapshot) {
  if (!snapshot) return [];
  if (Array.isArray(snapshot.instances)) return snapshot.instances;
  return [...(snapshot.window?.instances ?? []), ...(snapshot.watched ?? [])];
}

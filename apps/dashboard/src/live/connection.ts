import type { ClientToServerEvents, ServerToClientEvents } from '@vigil/protocol';
import { io, type Socket } from 'socket.io-client';
import type { InstanceStore } from './instance-store';

/**
 * Opens the dashboard socket and feeds it into the store. The backend sends a full snapshot on
 * every (re)connect, and `applySnapshot` replaces all state, so nothing is missed or duplicated
 * across reconnects. Returns a function that closes the socket.
 */
export function connectInstanceStore(store: InstanceStore): () => void {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({ path: '/socket.io' });

  store.setConnection('connecting');
  socket.on('connect', () => store.setConnection('connected'));
  // Fired for each failed attempt; socket.io keeps retrying, so the user sees "reconnecting…".
  socket.on('connect_error', () => store.setConnection('disconnected'));
  socket.on('disconnect', (reason) => {
    store.setConnection('disconnected');
    // socket.io retries on its own only after transport failures; when the server closed the
    // socket (e.g. while shutting down) the dashboard still wants to be live again.
    if (reason === 'io server disconnect') socket.connect();
  });
  // Payloads are passed on unparsed: the store validates them at run time.
  socket.on('snapshot', (snapshot) => store.applySnapshot(snapshot));
  socket.on('delta', (delta) => store.applyDelta(delta));

  return () => {
    socket.disconnect();
  };
}

import type { ClientToServerEvents, ServerToClientEvents, ViewRequest } from '@vigil/protocol';
import { io, type Socket } from 'socket.io-client';
import type { LiveStore } from './live-store';

/**
 * Opens the dashboard socket and feeds it into the store. On every (re)connect it subscribes
 * with the page's current view, and the acknowledgement is a snapshot that replaces the view's
 * state, so nothing is missed or duplicated across reconnects. At most one subscribe is in
 * flight: while the table scrolls fast, only the latest view is asked for. Returns a function
 * that closes the socket.
 */
export function connectLiveStore(store: LiveStore): () => void {
  // WebSocket first: it saves the long-polling handshake's round trips before the first rows;
  // long-polling stays as the fallback for proxies that refuse WebSockets.
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
  });
  let inFlight = false;
  let wanted = false;

  function subscribe(): void {
    if (!socket.connected) return;
    if (inFlight) {
      wanted = true;
      return;
    }
    inFlight = true;
    wanted = false;
    const view: ViewRequest = store.getState().view;
    socket.emit('subscribe', view, (reply) => {
      inFlight = false;
      // The reply is passed on unparsed: the store validates it at run time.
      store.applySubscribeReply(view, reply);
      if (wanted) subscribe();
    });
  }

  const stopWatchingView = store.onViewChange(subscribe);
  store.setConnection('connecting');
  socket.on('connect', () => {
    store.setConnection('connected');
    // A reply lost with the previous connection will never come.
    inFlight = false;
    subscribe();
  });
  // Fired for each failed attempt; socket.io keeps retrying, so the user sees "reconnecting…".
  socket.on('connect_error', () => store.setConnection('disconnected'));
  socket.on('disconnect', (reason) => {
    store.setConnection('disconnected');
    // socket.io retries on its own only after transport failures; when the server closed the
    // socket (e.g. while shutting down) the dashboard still wants to be live again.
    if (reason === 'io server disconnect') socket.connect();
  });
  socket.on('delta', (delta) => store.applyDelta(delta));

  return () => {
    stopWatchingView();
    socket.disconnect();
  };
}

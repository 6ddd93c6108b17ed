/**
 * The beat socket's counterpart of http-client.mjs's BeatConnection, so the fleet simulator can
 * drive either transport: the same queue, pipelining, failure and reconnect handling, over one
 * WebSocket to `/api/v1/heartbeat/socket`. Requests are beat bodies (JSON strings, no request
 * line or headers); each answer `{"status":…,"body":…}` is matched in order.
 */
import { WebSocket } from 'ws';
import { BeatConnection } from './http-client.mjs';

export class SocketBeatConnection extends BeatConnection {
  open() {
    const { host, port, localAddress } = this.options;
    const socket = new WebSocket(`ws://${host}:${port}/api/v1/heartbeat/socket`, { perMessageDeflate: false, localAddress });
    this.socket = socket;
    socket.on('open', () => {
      this.connected = true;
      this.pump();
    });
    socket.on('message', (data) => this.onMessage(data.toString()));
    socket.on('error', (error) => {
      const code = error.code ?? error.message;
      this.errorCodes[code] = (this.errorCodes[code] ?? 0) + 1;
    });
    socket.on('close', () => this.onClose());
  }

  /** One message per beat (a WebSocket frame each), as many as the pipeline allows. */
  write(requests) {
    for (const body of requests) this.socket.send(body);
  }

  onMessage(text) {
    // `{"status":200,"body":{…}}`: the status is at a fixed place, the body is the rest.
    this.answered(Number(text.slice(10, 13)), text.slice(21, -1));
    this.pump();
  }

  destroySocket() {
    this.socket.terminate();
  }
}

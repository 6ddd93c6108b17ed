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
    // An all-zero masking key: ws then writes each frame as it is instead of copying and XOR-ing
    // it (the server unmasks every frame the same either way). Masks protect proxies from
    // scripted content; this is a load generator on loopback, where its own CPU is what counts.
    const socket = new WebSocket(`ws://${host}:${port}/api/v1/heartbeat/socket`, {
      perMessageDeflate: false,
      localAddress,
      generateMask: (mask) => mask.fill(0),
    });
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

  /**
   * One message per beat (a WebSocket frame each), as many as the pipeline allows; beats due
   * together leave in one write, as the HTTP client pipelines them (the connection ws wraps is
   * corked around the sends: ws has no API of its own for it).
   */
  write(requests) {
    const raw = requests.length > 1 ? this.socket._socket : undefined;
    raw?.cork();
    for (const body of requests) this.socket.send(body);
    raw?.uncork();
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

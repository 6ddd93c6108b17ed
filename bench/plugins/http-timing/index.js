'use strict';
/**
 * The http interceptor of bench:agent. Times every request an http.Server handles, from its
 * `request` event (`http.Server.prototype.emit`: every server's events go through it) to the
 * return of the response's `end()` (`http.ServerResponse.prototype.end`), when the last of the
 * response has been handed to the socket. Its ext-info (requests served, mean and max ms in the
 * last report) goes out with the beats, so it costs what a real observability plugin costs: hooks
 * on the hottest path of the service.
 *
 * Two hooks and a number on the response, rather than a `finish` listener per response: `once`
 * allocates a listener wrapper and grows the response's listener table on every request, which
 * on a small service costs more than the timing itself.
 */
const { definePlugin, HeartbeatService, ServiceManager } = require('@vigil/agent');

// Fetched while the agent loads this module, so ext-info is reported under `http-timing`.
const heartbeat = ServiceManager.getService(HeartbeatService);

let requests = 0;
let windowCount = 0;
let windowTotalMs = 0;
let windowMaxMs = 0;

heartbeat.setExtInfo(() => {
  const info = {
    requests: String(requests),
    meanMs: windowCount ? (windowTotalMs / windowCount).toFixed(2) : '0',
    maxMs: windowMaxMs.toFixed(1),
  };
  windowCount = 0;
  windowTotalMs = 0;
  windowMaxMs = 0;
  return info;
});

module.exports = definePlugin({
  interceptors: [
    {
      module: 'http',
      export: 'Server.prototype',
      method: 'emit',
      before(ctx) {
        if (ctx.args[0] !== 'request') return;
        ctx.args[2].vigilStart = performance.now();
      },
    },
    {
      module: 'http',
      export: 'ServerResponse.prototype',
      method: 'end',
      after(ctx) {
        const res = ctx.target;
        const start = res.vigilStart;
        // Not a timed response, or end() called again: counted once.
        if (start === undefined) return;
        res.vigilStart = undefined;
        const ms = performance.now() - start;
        requests++;
        windowCount++;
        windowTotalMs += ms;
        if (ms > windowMaxMs) windowMaxMs = ms;
      },
    },
  ],
});

'use strict';
/**
 * The http interceptor of bench:agent. Intercepts `http.Server.prototype.emit` (every server's
 * events go through it) and, for each `request` event, times the response until `finish`. Its
 * ext-info (requests served, mean and max ms in the last report) goes out with the beats, so it
 * costs what a real observability plugin costs: a hook on the hottest path of the service.
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

function onFinish() {
  const ms = performance.now() - this.vigilStart;
  requests++;
  windowCount++;
  windowTotalMs += ms;
  if (ms > windowMaxMs) windowMaxMs = ms;
}

module.exports = definePlugin({
  interceptors: [
    {
      module: 'http',
      export: 'Server.prototype',
      method: 'emit',
      before(ctx) {
        if (ctx.args[0] !== 'request') return;
        const res = ctx.args[2];
        res.vigilStart = performance.now();
        res.once('finish', onFinish);
      },
    },
  ],
});

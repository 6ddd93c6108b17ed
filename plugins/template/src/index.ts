/**
 * Vigil's template plugin, after Sermant's heartbeat example: when the service starts listening
 * it says good morning and reports `status=started` in the heartbeat.
 */
import { definePlugin, HeartbeatService, ServiceManager } from '@vigil/agent';

// Fetched while the agent loads this module, so the service is bound to this plugin and the
// ext-info below is reported under `template`.
const heartbeatService = ServiceManager.getService(HeartbeatService);

export default definePlugin({
  interceptors: [
    {
      // http.Server and https.Server inherit listen from here, so every server is covered.
      module: 'net',
      export: 'Server.prototype',
      method: 'listen',
      before() {
        heartbeatService.setExtInfo(() => ({ status: 'started' }));
        console.log('Good morning!');
      },
    },
  ],
});

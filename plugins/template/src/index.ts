/**
 * Vigil's template plugin, after Sermant's heartbeat example: when the service starts listening
 * it says good morning, reports `status=started` in the heartbeat and a health indicator
 * `template` that is `up`.
 */
import { definePlugin, HealthService, HeartbeatService, ServiceManager } from '@vigil/agent';

// Fetched while the agent loads this module, so the services are bound to this plugin: the
// ext-info below is reported under `template`, and the indicator is this plugin's (not counted
// while the plugin is disabled).
const heartbeatService = ServiceManager.getService(HeartbeatService);
const healthService = ServiceManager.getService(HealthService);

/** When the service first listened. */
let listeningSince: string | undefined;

export default definePlugin({
  interceptors: [
    {
      // http.Server and https.Server inherit listen from here, so every server is covered.
      module: 'net',
      export: 'Server.prototype',
      method: 'listen',
      before() {
        heartbeatService.setExtInfo(() => ({ status: 'started' }));
        // A health indicator to copy: called before each beat, it says how this part of the
        // service is (a real one would ping its database, check a queue...), with details.
        listeningSince ??= new Date().toISOString();
        healthService.setIndicator('template', () => ({ status: 'up', details: { listeningSince } }));
        console.log('Good morning!');
      },
    },
  ],
});

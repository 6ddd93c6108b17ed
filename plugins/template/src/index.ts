/**
 * Vigil's template plugin, after Sermant's heartbeat example: when the service starts listening
 * it says its greeting (`Good morning!` unless configured otherwise), reports `status=started` in
 * the heartbeat and a health indicator `template` that is `up`. Its one setting, `greeting`,
 * changes at run time: set it in `vigil/plugins/template.properties`, or from the backend (an
 * empty greeting is refused).
 */
import { ConfigService, definePlugin, HealthService, HeartbeatService, ServiceManager, type SettingDeclarations } from '@vigil/agent';

const settings = {
  greeting: { type: 'string', default: 'Good morning!', description: 'What the plugin says when the service starts listening' },
} as const satisfies SettingDeclarations;

// Fetched while the agent loads this module, so the services are bound to this plugin: the
// ext-info below is reported under `template`, the indicator is this plugin's (not counted
// while the plugin is disabled), and the settings are the template's.
const heartbeatService = ServiceManager.getService(HeartbeatService);
const healthService = ServiceManager.getService(HealthService);
const config = ServiceManager.getService<ConfigService<typeof settings>>(ConfigService);

/** When the service first listened. */
let listeningSince: string | undefined;

// A new greeting applies from the next listen; say so now, so its arrival shows in the service's
// output. Throwing refuses it: the agent puts the previous greeting back (calling this again with
// it) and tells the backend, which shows the change refused on this instance.
config.onChange((values, changed) => {
  if (!changed.includes('greeting')) return;
  if (values.greeting.trim() === '') throw new Error('the greeting cannot be empty');
  console.log(`template: greeting is now ${JSON.stringify(values.greeting)}`);
});

export default definePlugin({
  settings,
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
        // Read at each call, never kept: the value may have changed since the last one.
        console.log(config.get('greeting'));
      },
    },
  ],
});

import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyDocument, withChange } from './config-document.js';
import { PluginConfigFile } from './plugin-config-store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'vigil-plugin-config-file-'));

const document = (service: string, greeting: string) =>
  withChange(
    emptyDocument(service, 'greeter'),
    { instanceId: null, values: { greeting }, updatedBy: 'ops', comment: null, rollbackOf: null },
    1_000,
  );

describe('the plugin configuration file', () => {
  it('starts empty without a file, and gives back every saved configuration after a restart, readable by its owner only', async () => {
    const path = join(dir(), 'plugin-config.json');
    const first = new PluginConfigFile(path);
    expect(await first.load()).toEqual({ documents: [] });
    const orders = document('orders', 'hi');
    const billing = document('billing', 'hello');
    expect(await first.save(orders)).toBe('saved');
    expect(await first.save(billing)).toBe('saved');
    const newer = withChange(
      orders,
      { instanceId: 'i-1', values: { greeting: 'yo' }, updatedBy: 'ops', comment: 'one', rollbackOf: null },
      2_000,
    );
    await first.save(newer);

    expect((await new PluginConfigFile(path).load()).documents).toEqual([newer, billing]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(path, '..')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('moves a file it cannot read aside and starts without configurations, saying why', async () => {
    const folder = dir();
    const path = join(folder, 'plugin-config.json');
    writeFileSync(path, '{"version":1,"configs":[{"service":"orders"}]}');
    const { documents, problem } = await new PluginConfigFile(path).load();
    expect(documents).toEqual([]);
    expect(problem).toMatch(/is not a plugin configuration file: configs\.0\.plugin: .*moved it to .*plugin-config\.json\.unreadable-/);
    expect(readdirSync(folder).filter((name) => name.startsWith('plugin-config.json.unreadable-'))).toHaveLength(1);
  });
});

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSettingDeclarations } from './setting-values';
import { readSettingsFile } from './settings-file';

const declarations = checkSettingDeclarations({
  greeting: { type: 'string', default: 'Good morning!' },
  slowMs: { type: 'number', default: 250 },
  loud: { type: 'boolean' },
  paths: { type: 'string[]' },
});

function settingsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-settings-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('readSettingsFile', () => {
  it("reads <name>.properties as the declared types, a scoped package's in its scope's folder", () => {
    const dir = settingsDir({
      'template.properties': '# the greeting\ngreeting=Hello there\nslowMs = 100\nloud=true\npaths=/a, /b\n',
      '@acme/db.properties': 'slowMs=7\n',
    });
    expect(readSettingsFile(dir, 'template', declarations)).toEqual({
      file: path.join(dir, 'template.properties'),
      values: { greeting: 'Hello there', slowMs: 100, loud: true, paths: ['/a', '/b'] },
      warning: undefined,
    });
    expect(readSettingsFile(dir, '@acme/db', declarations).values).toEqual({ slowMs: 7 });
  });

  it('sets nothing, and says nothing, without a file', () => {
    expect(readSettingsFile(settingsDir({}), 'template', declarations)).toMatchObject({ values: {}, warning: undefined });
  });

  it('leaves out a bad value and a key that is not a setting, naming each in one warning line', () => {
    const dir = settingsDir({ 'template.properties': 'greeting=Hi\nslowMs=fast\nloud=yes\ngretting=Hi\n' });
    const { values, warning } = readSettingsFile(dir, 'template', declarations);
    expect(values).toEqual({ greeting: 'Hi' });
    expect(warning).toBe(
      `settings of plugin template in ${path.join(dir, 'template.properties')}, ignored: ` +
        'slowMs: expected a number, got "fast"; loud: expected true or false, got "yes"; gretting: not a setting of template',
    );
  });

  it('warns when the file is there but cannot be read', () => {
    const dir = settingsDir({});
    mkdirSync(path.join(dir, 'template.properties'));
    expect(readSettingsFile(dir, 'template', declarations).warning).toMatch(
      /^settings of plugin template: .*template\.properties cannot be read \(EISDIR/,
    );
  });
});

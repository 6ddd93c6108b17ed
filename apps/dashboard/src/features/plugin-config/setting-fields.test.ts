import type { SettingDeclaration } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { fieldOf, formatValue, initialFields, settingIssues, valueOf, valuesOf } from './setting-fields';

const settings: Record<string, SettingDeclaration> = {
  greeting: { type: 'string', default: 'hello' },
  timeoutMs: { type: 'number', default: 500 },
  verbose: { type: 'boolean' },
  hosts: { type: 'string[]', default: ['a'] },
};

describe('setting fields', () => {
  it('shows each value in the input its type needs, defaults where nothing is set', () => {
    expect(initialFields(settings, { timeoutMs: 250, verbose: true })).toEqual({
      greeting: 'hello',
      timeoutMs: '250',
      verbose: true,
      hosts: 'a',
    });
    expect(fieldOf({ type: 'string[]' }, ['x', 'y'])).toBe('x\ny');
    expect(fieldOf({ type: 'number' }, undefined)).toBe('');
  });

  it('turns the fields back into typed values; text that is not a number goes as typed for the API to name', () => {
    expect(valueOf(settings.timeoutMs!, ' 1e3 ')).toBe(1000);
    expect(valueOf(settings.timeoutMs!, 'fast')).toBe('fast');
    expect(valueOf(settings.timeoutMs!, '  ')).toBeUndefined();
    expect(valueOf(settings.hosts!, 'b\n\n c \n')).toEqual(['b', 'c']);
    expect(valueOf(settings.verbose!, false)).toBe(false);
    expect(valueOf(settings.greeting!, '')).toBe('');
  });

  it('sends every setting of a service, and only the overridden ones of an instance', () => {
    const fields = { greeting: 'hi', timeoutMs: '', verbose: true, hosts: 'x' };
    expect(valuesOf(settings, fields)).toEqual({ greeting: 'hi', verbose: true, hosts: ['x'] });
    expect(valuesOf(settings, fields, ['verbose'])).toEqual({ verbose: true });
  });

  it('puts the API’s issues beside the setting they name', () => {
    const byField = settingIssues(
      ['values.timeoutMs: expected a number, not "fast"', 'comment: at most 500 characters', 'values: at most 64 settings'],
      Object.keys(settings),
    );
    expect(byField.get('timeoutMs')).toEqual(['expected a number, not "fast"']);
    expect(byField.get('comment')).toEqual(['at most 500 characters']);
    expect(byField.get('')).toEqual(['values: at most 64 settings']);
  });

  it('shows values so that text and numbers differ', () => {
    expect([formatValue('5'), formatValue(5), formatValue(['a']), formatValue(undefined)]).toEqual(['"5"', '5', '["a"]', '—']);
  });
});

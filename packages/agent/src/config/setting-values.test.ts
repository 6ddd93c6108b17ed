import { describe, expect, it } from 'vitest';
import { pluginDefinitionFrom } from '../plugins/define-plugin';
import { checkSettingDeclarations, checkValues, defaultsOf, parseSettingText } from './setting-values';

describe('checkSettingDeclarations', () => {
  it('takes each type with a default of that type and a description, and freezes them', () => {
    const settings = checkSettingDeclarations({
      header: { type: 'string', default: 'x-took', description: 'the response header' },
      slowMs: { type: 'number', default: 250 },
      enabled: { type: 'boolean', default: false },
      paths: { type: 'string[]', default: ['/health'] },
      token: { type: 'string' },
    });
    expect(settings).toEqual({
      header: { type: 'string', default: 'x-took', description: 'the response header' },
      slowMs: { type: 'number', default: 250 },
      enabled: { type: 'boolean', default: false },
      paths: { type: 'string[]', default: ['/health'] },
      token: { type: 'string' },
    });
    expect(Object.isFrozen(settings.paths?.default)).toBe(true);
    expect(defaultsOf(settings)).toEqual({ header: 'x-took', slowMs: 250, enabled: false, paths: ['/health'] });
  });

  it.each([
    [[], /^settings must be an object/],
    [{ header: 'x-took' }, /^settings\.header must be an object/],
    [{ header: { type: 'date' } }, /^settings\.header\.type must be one of string, number, boolean, string\[\], got "date"$/],
    [{ slowMs: { type: 'number', default: '250' } }, /^settings\.slowMs\.default: expected a number, got "250"$/],
    [{ paths: { type: 'string[]', default: ['/a', 2] } }, /^settings\.paths\.default: expected a list of strings, got a list$/],
    [{ on: { type: 'boolean', default: 'yes' } }, /^settings\.on\.default: expected true or false, got "yes"$/],
    [{ '1st': { type: 'string' } }, /^settings\.1st: a setting's name starts with a letter/],
    [{ 'has space': { type: 'string' } }, /^settings\.has space: a setting's name/],
    [{ note: { type: 'string', description: 7 } }, /^settings\.note\.description must be a string/],
    [Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`s${i}`, { type: 'string' }])), /^settings: at most 64 settings, got 65$/],
    [
      Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`s${i}`, { type: 'string', default: 'x'.repeat(4000) }])),
      /^settings: \d+ bytes as JSON, at most 16384 \(full beats carry them\)/,
    ],
  ])('refuses %j, naming what is wrong', (settings, message) => {
    expect(() => checkSettingDeclarations(settings)).toThrow(message);
  });

  it('fails the load of a plugin whose definition declares bad settings, and leaves a definition without settings as it was', () => {
    expect(() => pluginDefinitionFrom({ settings: { limit: { type: 'integer' } } })).toThrow(/^settings\.limit\.type must be one of/);
    expect(pluginDefinitionFrom({})).toEqual({ interceptors: [], services: [] });
    expect(pluginDefinitionFrom({ settings: { limit: { type: 'number', default: 3 } } }).settings).toEqual({
      limit: { type: 'number', default: 3 },
    });
  });
});

describe('parseSettingText', () => {
  it.each([
    ['string', ' keep spaces ', ' keep spaces '],
    ['number', '2.5', 2.5],
    ['number', ' -3 ', -3],
    ['boolean', 'TRUE', true],
    ['boolean', 'false', false],
    ['string[]', 'a, b,,c ', ['a', 'b', 'c']],
    ['string[]', '', []],
  ] as const)('reads a %s from %j', (type, text, value) => {
    expect(parseSettingText(type, text)).toEqual({ value });
  });

  it.each([
    ['number', 'fast', 'expected a number, got "fast"'],
    ['number', '', 'expected a number, got ""'],
    ['number', 'Infinity', 'expected a number, got "Infinity"'],
    ['boolean', 'yes', 'expected true or false, got "yes"'],
    ['string', 'x'.repeat(4097), 'at most 4096 characters'],
  ] as const)('refuses a %s written %j', (type, text, problem) => {
    expect(parseSettingText(type, text)).toEqual({ problem });
  });
});

describe('checkValues', () => {
  const declarations = checkSettingDeclarations({ header: { type: 'string' }, slowMs: { type: 'number' }, paths: { type: 'string[]' } });

  it('names every value of the wrong type, and tells apart the names that are not settings', () => {
    expect(checkValues(declarations, { header: 'x', slowMs: 5, paths: [], other: 1 })).toEqual({ problems: [], unknown: ['other'] });
    expect(checkValues(declarations, { header: 1, slowMs: 'fast', paths: 'a,b' })).toEqual({
      problems: [
        'values.header: expected a string, got 1',
        'values.slowMs: expected a number, got "fast"',
        'values.paths: expected a list of strings, got "a,b"',
      ],
      unknown: [],
    });
    expect(checkValues(declarations, { paths: Array.from({ length: 65 }, () => 'p') }).problems).toEqual([
      'values.paths: at most 64 items',
    ]);
    expect(checkValues(declarations, { toString: 'x' }).unknown).toEqual(['toString']);
  });
});

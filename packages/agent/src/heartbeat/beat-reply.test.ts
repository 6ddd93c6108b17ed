import { describe, expect, it } from 'vitest';
import { parseBeatReply } from './beat-reply';

describe('parseBeatReply', () => {
  it('takes result and serverTime, and interval and commands when present', () => {
    expect(parseBeatReply({ result: 'renewed', serverTime: 5 })).toEqual({
      reply: { result: 'renewed', serverTime: 5 },
      problems: [],
    });
    const command = { id: 'c1', type: 'plugin.enable', plugin: 'template' };
    expect(parseBeatReply({ result: 'registered', serverTime: 5, interval: 2000, commands: [command], extra: true })).toEqual({
      reply: { result: 'registered', serverTime: 5, interval: 2000, commands: [command] },
      problems: [],
    });
  });

  it.each([undefined, 'ok', [], { result: 'fine', serverTime: 1 }, { result: 'renewed' }, { result: 'renewed', serverTime: '1' }])(
    'refuses %j',
    (body) => {
      expect(() => parseBeatReply(body)).toThrow('backend sent an unexpected reply');
    },
  );

  it.each([99, 3_600_001, 1.5, '2000', null])('leaves out the interval %j, naming it', (interval) => {
    const { reply, problems } = parseBeatReply({ result: 'renewed', serverTime: 1, interval });
    expect(reply).toEqual({ result: 'renewed', serverTime: 1 });
    expect(problems).toEqual([expect.stringMatching(/^interval .* ignored: expected an integer from 100 to 3600000 ms$/)]);
  });

  it('keeps the well-formed commands, without extra fields, and at most 32', () => {
    const good = (index: number) => ({ id: `c${index}`, type: 'plugin.disable', plugin: 'template', note: 'dropped' });
    const commands = [
      { id: '', type: 'plugin.disable', plugin: 'template' },
      { id: 'c', type: 'plugin.reinstall', plugin: 'template' },
      { id: 'c', type: 'plugin.disable', plugin: 'x'.repeat(257) },
      'plugin.disable',
      ...Array.from({ length: 40 }, (_, index) => good(index)),
    ];
    const { reply, problems } = parseBeatReply({ result: 'renewed', serverTime: 1, commands });
    expect(reply.commands).toHaveLength(28);
    expect(reply.commands?.[0]).toEqual({ id: 'c0', type: 'plugin.disable', plugin: 'template' });
    expect(problems).toHaveLength(4);
    expect(parseBeatReply({ result: 'renewed', serverTime: 1, commands: {} }).problems).toEqual(['commands ignored: not an array']);
  });

  it('takes the configuration deliveries of well-formed shape, leaving their values for the plugins to check', () => {
    const delivery = { plugin: 'template', version: 3, values: { greeting: 'Bonjour', paths: ['/a'] } };
    const config = [
      delivery,
      { plugin: 'template', version: 0, values: {} },
      { plugin: 'template', version: 1.5, values: {} },
      { plugin: '', version: 2, values: {} },
      { plugin: 'template', version: 2, values: ['greeting'] },
      { plugin: 'template', version: 2 },
    ];
    const { reply, problems } = parseBeatReply({ result: 'renewed', serverTime: 1, config });
    expect(reply.config).toEqual([delivery]);
    expect(problems).toHaveLength(5);
    expect(problems[0]).toBe('config[1] ignored: {"plugin":"template","version":0,"values":{}}');
    expect(parseBeatReply({ result: 'renewed', serverTime: 1, config: {} }).problems).toEqual(['config ignored: not an array']);
    expect(parseBeatReply({ result: 'renewed', serverTime: 1 }).reply).not.toHaveProperty('config');
  });

  it("keeps an install's or upgrade's version, and leaves out a command whose version is not a short string", () => {
    const commands = [
      { id: 'a', type: 'plugin.install', plugin: 'stamp' },
      { id: 'b', type: 'plugin.upgrade', plugin: 'stamp', version: '2.0.0' },
      { id: 'c', type: 'plugin.upgrade', plugin: 'stamp', version: 2 },
      { id: 'd', type: 'plugin.install', plugin: 'stamp', version: 'x'.repeat(65) },
    ];
    const { reply, problems } = parseBeatReply({ result: 'renewed', serverTime: 1, commands });
    expect(reply.commands).toEqual([
      { id: 'a', type: 'plugin.install', plugin: 'stamp' },
      { id: 'b', type: 'plugin.upgrade', plugin: 'stamp', version: '2.0.0' },
    ]);
    expect(problems).toHaveLength(2);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCommands } from './commands-api';

const state = {
  id: 'c1',
  instanceId: 'i-1',
  service: 'orders',
  type: 'plugin.install',
  plugin: 'greeter',
  version: null,
  state: 'queued',
  reason: null,
  createdAt: 1,
  updatedAt: 1,
  expiresAt: 2,
};

describe('plugin command answers', () => {
  it('reads a list of commands, and the answer about one instance', () => {
    expect(parseCommands({ commands: [state, { ...state, id: 'c2', version: '2.0.0' }] }).map((c) => c.version)).toEqual([null, '2.0.0']);
    expect(parseCommands({ command: state, commands: [state] })).toEqual([state]);
  });

  it('names the field of an answer that does not match', () => {
    expect(() => parseCommands({ commands: [{ ...state, state: 'done' }] })).toThrow(/commands\.0\.state/);
    expect(() => parseCommands({ commands: [{ ...state, createdAt: 'yesterday' }] })).toThrow(/commands\.0\.createdAt/);
    expect(() => parseCommands([])).toThrow(/\(body\)/);
  });
});

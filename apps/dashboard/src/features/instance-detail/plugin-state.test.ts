import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { commandOutcome } from './plugin-state';

let nextId = 1;
function event(type: string, attributes: Record<string, string>, origin: EventRecord['origin'] = 'agent'): EventRecord {
  const id = nextId++;
  return { id: String(id), time: id, level: 'normal', type, origin, message: `${type} ${JSON.stringify(attributes)}`, attributes };
}

describe('plugin state from events', () => {
  it('finds the agent’s answer to a command by its id', () => {
    const events = [
      event('plugin.command-sent', { plugin: 'a', commandId: 'c1' }, 'backend'),
      event('plugin.disabled', { plugin: 'a', commandId: 'c1' }),
      event('plugin.command-failed', { plugin: 'b', commandId: 'c2' }),
    ];
    expect(commandOutcome('c1', events)).toMatchObject({ ok: true, message: events[1]?.message });
    expect(commandOutcome('c2', events)).toMatchObject({ ok: false });
    expect(commandOutcome('c3', events)).toBeNull();
  });
});

import type { AgentEvent, EventLevel } from '../protocol';
import { describe, expect, it } from 'vitest';
import { EventQueue } from './event-queue';

const event = (level: EventLevel, message: string): AgentEvent => ({ time: 0, level, type: 'test.event', message });
const messages = (events: AgentEvent[]) => events.map((queued) => queued.message);

describe('EventQueue', () => {
  it('gives events back oldest first, in batches, with the drop count once', () => {
    const queue = new EventQueue(10);
    for (const message of ['a', 'b', 'c']) queue.push(event('normal', message));
    expect(queue.size).toBe(3);
    const first = queue.take(2);
    expect(messages(first.events)).toEqual(['a', 'b']);
    expect(first.dropped).toBe(0);
    expect(messages(queue.take(2).events)).toEqual(['c']);
    expect(queue.take(2)).toEqual({ events: [], dropped: 0 });
  });

  it('when full, drops the oldest of the least severe events, counting each', () => {
    const queue = new EventQueue(3);
    queue.push(event('normal', 'n1'));
    queue.push(event('emergency', 'e1'));
    queue.push(event('normal', 'n2'));
    queue.push(event('important', 'i1'));
    queue.push(event('important', 'i2'));
    expect(queue.take(10)).toEqual({
      events: [event('emergency', 'e1'), event('important', 'i1'), event('important', 'i2')],
      dropped: 2,
    });
  });

  it('drops the newcomer when everything queued is more severe', () => {
    const queue = new EventQueue(2);
    queue.push(event('emergency', 'e1'));
    queue.push(event('important', 'i1'));
    queue.push(event('normal', 'n1'));
    const { events, dropped } = queue.take(10);
    expect(messages(events)).toEqual(['e1', 'i1']);
    expect(dropped).toBe(1);
  });

  it('puts a batch that could not be sent back in front, with its drop count, still bounded', () => {
    const queue = new EventQueue(3);
    queue.push(event('normal', 'a'));
    queue.push(event('normal', 'b'));
    const taken = queue.take(2);
    queue.push(event('important', 'c'));
    queue.push(event('normal', 'd'));
    queue.putBack({ events: taken.events, dropped: 4 });
    const { events, dropped } = queue.take(10);
    expect(messages(events)).toEqual(['b', 'c', 'd']);
    expect(dropped).toBe(5);
  });

  it('counts events taken and then refused as dropped', () => {
    const queue = new EventQueue(3);
    queue.addDropped(7);
    expect(queue.take(1).dropped).toBe(7);
  });
});

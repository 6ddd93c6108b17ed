import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { mergeEvents } from './merge-events';

const event = (id: number): EventRecord => ({
  id: String(id),
  time: 5,
  level: 'normal',
  type: 't',
  origin: 'backend',
  message: '',
  attributes: {},
});

describe('mergeEvents', () => {
  it('merges lists newest first (by id, numerically) without duplicates', () => {
    expect(mergeEvents([event(9), event(11)], [event(10), event(11)]).map((e) => e.id)).toEqual(['11', '10', '9']);
    expect(mergeEvents()).toEqual([]);
  });
});

import type { BeatSocketAnswer } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { encodeAnswer } from './beat-socket.js';

describe('encodeAnswer', () => {
  it('writes exactly what JSON.stringify writes, for every kind of answer', () => {
    const answers: BeatSocketAnswer[] = [
      { status: 200, body: { result: 'renewed', serverTime: 1_790_000_000_123 } },
      { status: 200, body: { result: 'registered', serverTime: 1_790_000_000_123, interval: 5000 } },
      { status: 200, body: { result: 'unknown', serverTime: 0 } },
      { status: 200, body: { result: 'renewed', serverTime: 5, interval: 100, commands: [{ id: 'c1', type: 'plugin.disable', plugin: 'template' }] } },
      { status: 429, body: { error: 'too many beats', message: 'slow down', interval: 5000 } },
      { status: 400, body: { error: 'invalid heartbeat', issues: ['kind: "quote\\"d"'] } },
    ];
    for (const answer of answers) {
      expect(encodeAnswer(answer)).toBe(JSON.stringify(answer));
      expect(JSON.parse(encodeAnswer(answer))).toEqual(answer);
    }
  });
});

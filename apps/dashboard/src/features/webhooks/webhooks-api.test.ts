import { describe, expect, it } from 'vitest';
import { inputOf, parseWebhook, parseWebhookList } from './webhooks-api';

const stored = {
  id: 'w1',
  name: 'ops',
  url: 'https://hooks.example.com/x',
  format: 'slack',
  minLevel: 'important',
  enabled: true,
  createdAt: 1,
  updatedAt: 2,
  delivery: {
    queued: 0,
    delivered: 3,
    failed: 1,
    dropped: 0,
    last: { time: 5, eventId: '9', ok: false, status: 500, attempts: 3, durationMs: 20 },
  },
};

describe('webhook answers', () => {
  it('reads a webhook with its delivery counts', () => {
    const webhook = parseWebhook(stored);
    expect(webhook).toMatchObject({ id: 'w1', format: 'slack', delivery: { delivered: 3, last: { ok: false, status: 500, attempts: 3 } } });
    expect(webhook.eventTypes).toBeUndefined();
    expect(inputOf({ ...webhook, eventTypes: ['instance.'] })).toEqual({
      name: 'ops',
      url: 'https://hooks.example.com/x',
      format: 'slack',
      minLevel: 'important',
      enabled: true,
      eventTypes: ['instance.'],
    });
  });

  it('names the field that does not match', () => {
    expect(() => parseWebhookList({ webhooks: [{ ...stored, format: 'teams' }] })).toThrow(
      /^webhooks\.0\.format: .*"generic"\|"slack"\|"feishu"\|"dingtalk"/,
    );
    expect(() => parseWebhookList([])).toThrow(/^\(body\): .*expected object/);
    expect(() => parseWebhook({ ...stored, delivery: { ...stored.delivery, last: { time: 'now' } } })).toThrow(
      /delivery\.last\.time: .*expected number/,
    );
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '@vigil/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config/vigil-config.js';
import { QUEUE_CAPACITY } from './webhook-channel.js';
import type { WebhookInput } from './webhook-schema.js';
import type { SendResult } from './webhook-sender.js';
import { WebhookStore } from './webhook-store.js';
import { WebhooksService } from './webhooks.service.js';

/** A public address, so URL checks pass without DNS; the fake sender never connects anyway. */
const URL_A = 'http://93.184.216.34/hook-a';

const input = (overrides: Partial<WebhookInput> = {}): WebhookInput => ({
  name: 'ops',
  url: URL_A,
  format: 'feishu',
  minLevel: 'important',
  enabled: true,
  ...overrides,
});

let seq = 0;
const event = (level: EventRecord['level'], type = 'instance.lost'): EventRecord => ({
  id: String(++seq),
  time: 1_000,
  level,
  type,
  origin: 'backend',
  message: 'no beat',
  instanceId: 'i-1',
  service: 'orders',
  attributes: {},
});

function harness(options: { path?: string; answer?: (url: string) => Promise<SendResult> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-webhooks-'));
  const store = new WebhookStore(options.path ?? join(dir, 'webhooks.json'));
  const listeners = new Set<(event: EventRecord) => void>();
  const events = {
    onEvent: (listener: (event: EventRecord) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const posts: Array<{ url: string; body: unknown }> = [];
  const sender = {
    post: async (url: string, body: string): Promise<SendResult> => {
      posts.push({ url, body: JSON.parse(body) });
      return options.answer ? options.answer(url) : { status: 200, body: '{"code":0}', durationMs: 3 };
    },
  };
  const config = loadConfig({ VIGIL_DATA_DIR: dir, VIGIL_LOG_LEVEL: 'fatal' });
  const service = new WebhooksService(events, store, sender, { now: () => 5_000 }, config);
  services.push(service);
  const emit = (e: EventRecord) => listeners.forEach((listener) => listener(e));
  return { service, store, posts, emit };
}

const services: WebhooksService[] = [];
afterEach(() => {
  for (const service of services.splice(0)) service.onModuleDestroy();
});

describe('WebhooksService', () => {
  it('delivers events at or above the level in the webhook format and counts them', async () => {
    const { service, posts, emit } = harness();
    await service.onModuleInit();
    const created = await service.create(input());
    emit(event('normal'));
    emit(event('important'));
    emit(event('emergency', 'log.error'));
    await vi.waitFor(() => expect(service.list()[0]!.delivery.delivered).toBe(2), { timeout: 10_000 });
    expect(posts.map((p) => p.url)).toEqual([URL_A, URL_A]);
    expect(posts[0]!.body).toMatchObject({
      msg_type: 'text',
      content: { text: expect.stringMatching(/^\[Vigil\] IMPORTANT instance\.lost\n/) },
    });
    expect(service.list()).toEqual([
      {
        ...created,
        delivery: {
          queued: 0,
          delivered: 2,
          failed: 0,
          dropped: 0,
          last: { time: 5_000, eventId: String(seq), ok: true, status: 200, attempts: 1, durationMs: 3 },
        },
      },
    ]);
  });

  it('counts a failure with its reason', async () => {
    const { service, emit } = harness({ answer: async () => ({ status: 404, body: 'no_service', durationMs: 2 }) });
    await service.onModuleInit();
    await service.create(input({ format: 'slack' }));
    emit(event('emergency'));
    await vi.waitFor(() => expect(service.list()[0]!.delivery.failed).toBe(1), { timeout: 10_000 });
    expect(service.list()[0]!.delivery.last).toMatchObject({ ok: false, status: 404, error: 'answered 404', attempts: 1 });
  });

  it('drops the oldest events beyond the queue capacity, and counts them', async () => {
    const { service, emit } = harness({ answer: () => new Promise(() => {}) }); // a target that never answers
    await service.onModuleInit();
    await service.create(input());
    emit(event('important'));
    await new Promise((resolve) => setImmediate(resolve)); // the first is now in flight
    for (let i = 0; i < QUEUE_CAPACITY + 5; i++) emit(event('important'));
    expect(service.list()[0]!.delivery).toMatchObject({ queued: QUEUE_CAPACITY, dropped: 5, delivered: 0 });
  });

  it('refuses a private target, naming the url', async () => {
    const { service } = harness();
    await service.onModuleInit();
    await expect(service.create(input({ url: 'http://10.0.0.8/hook' }))).rejects.toMatchObject({
      status: 400,
      response: { error: 'invalid webhook', issues: [expect.stringMatching(/^url: 10\.0\.0\.8 is a loopback, private/)] },
    });
    expect(service.list()).toEqual([]);
  });

  it('brings the settings back after a restart, with counts at zero', async () => {
    const first = harness();
    await first.service.onModuleInit();
    const a = await first.service.create(input({ eventTypes: ['instance.'] }));
    const b = await first.service.create(input({ name: 'chat', format: 'dingtalk', enabled: false }));
    await first.service.update(b.id, input({ name: 'chat room', format: 'dingtalk', minLevel: 'emergency', enabled: true }));
    first.service.onModuleDestroy();

    const second = harness({ path: first.store.path });
    await second.service.onModuleInit();
    const listed = second.service.list();
    expect(listed.map((w) => [w.id, w.name, w.minLevel, w.eventTypes])).toEqual([
      [a.id, 'ops', 'important', ['instance.']],
      [b.id, 'chat room', 'emergency', undefined],
    ]);
    expect(listed[1]!.delivery).toEqual({ queued: 0, delivered: 0, failed: 0, dropped: 0, last: null });
  });

  it('applies concurrent changes one after another, losing none', async () => {
    const first = harness();
    await first.service.onModuleInit();
    await Promise.all([1, 2, 3, 4].map((n) => first.service.create(input({ name: `w${n}` }))));
    const second = harness({ path: first.store.path });
    await second.service.onModuleInit();
    expect(
      second.service
        .list()
        .map((w) => w.name)
        .sort(),
    ).toEqual(['w1', 'w2', 'w3', 'w4']);
  });

  it('answers 500 naming the file when it cannot save, and keeps the previous settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-webhooks-'));
    writeFileSync(join(dir, 'not-a-dir'), '');
    const path = join(dir, 'not-a-dir', 'webhooks.json');
    const { service } = harness({ path });
    await service.onModuleInit();
    await expect(service.create(input())).rejects.toMatchObject({
      status: 500,
      response: { error: 'cannot save webhook settings', path, reason: expect.stringMatching(/ENOTDIR|EEXIST/) },
    });
    expect(service.list()).toEqual([]);
  });

  it('starts with no webhooks from a corrupt file, and keeps working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-webhooks-'));
    const path = join(dir, 'webhooks.json');
    writeFileSync(path, 'garbage');
    const { service } = harness({ path });
    await service.onModuleInit();
    expect(service.list()).toEqual([]);
    await service.create(input());
    expect(service.list()).toHaveLength(1);
  });

  it('sends a test message whatever the level and enabled, once, uncounted', async () => {
    const { service, posts } = harness({
      answer: async () => ({ status: 200, body: '{"code":19024,"msg":"Key Words Not Found"}', durationMs: 4 }),
    });
    await service.onModuleInit();
    const { id } = await service.create(input({ enabled: false, minLevel: 'emergency' }));
    expect(await service.test(id)).toEqual({
      ok: false,
      status: 200,
      error: 'feishu answered code 19024: Key Words Not Found',
      durationMs: 4,
    });
    expect(posts[0]!.body).toMatchObject({ content: { text: expect.stringMatching(/^\[Vigil\] NORMAL webhook\.test\n/) } });
    expect(service.list()[0]!.delivery).toMatchObject({ delivered: 0, failed: 0, last: null });
  });

  it('forgets waiting events when disabled, stops on delete, and answers 404 for unknown ids', async () => {
    const { service, emit, posts } = harness({ answer: () => new Promise(() => {}) });
    await service.onModuleInit();
    const { id } = await service.create(input());
    emit(event('important'));
    emit(event('important'));
    emit(event('important'));
    await new Promise((resolve) => setImmediate(resolve));
    const disabled = await service.update(id, input({ enabled: false }));
    expect(disabled.delivery).toMatchObject({ queued: 0, dropped: 2 });
    emit(event('important'));
    await service.remove(id);
    expect(service.list()).toEqual([]);
    expect(posts).toHaveLength(1);
    await expect(service.update(id, input())).rejects.toMatchObject({ status: 404 });
    await expect(service.test(id)).rejects.toMatchObject({ status: 404 });
    await expect(service.remove(id)).rejects.toMatchObject({ status: 404 });
  });
});

import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StoredWebhook } from './webhook-schema.js';
import { WebhookStore } from './webhook-store.js';

const webhook: StoredWebhook = {
  id: 'w-1',
  name: 'ops channel',
  url: 'https://hooks.slack.com/services/T/B/secret',
  format: 'slack',
  minLevel: 'important',
  enabled: true,
  eventTypes: ['instance.'],
  createdAt: 1,
  updatedAt: 2,
};

describe('WebhookStore', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-webhook-store-'));
    path = join(dir, 'data', 'webhooks.json');
  });

  it('answers no webhooks when the file does not exist yet', async () => {
    expect(await new WebhookStore(path).load()).toEqual({ webhooks: [] });
  });

  it('saves and loads the same webhooks, creating the data dir, readable by its owner only', async () => {
    const { eventTypes: _all, ...everyType } = { ...webhook, id: 'w-2' };
    await new WebhookStore(path).save([webhook, everyType]);
    expect((await new WebhookStore(path).load()).webhooks).toEqual([webhook, everyType]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'data'))).toEqual(['webhooks.json']); // no temp file left behind
  });

  it('replaces the file as a whole on each save', async () => {
    const store = new WebhookStore(path);
    await store.save([webhook]);
    await store.save([]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, webhooks: [] });
  });

  it.each([
    ['not JSON', '{"version": 1, "webhooks": [', /is not valid JSON/],
    ['not a settings file', '{"version": 1, "webhooks": [{"id": "x"}]}', /is not a webhook settings file: webhooks\.0\.name/],
  ])('moves a file that is %s aside and starts empty', async (_what, content, problem) => {
    await new WebhookStore(path).save([]);
    writeFileSync(path, content);
    const loaded = await new WebhookStore(path).load();
    expect(loaded.webhooks).toEqual([]);
    expect(loaded.problem).toMatch(problem);
    expect(loaded.problem).toContain(path);
    const aside = readdirSync(join(dir, 'data')).filter((f) => f.startsWith('webhooks.json.unreadable-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, 'data', aside[0]!), 'utf8')).toBe(content);
    await new WebhookStore(path).save([webhook]); // the next save is not blocked by the bad file
    expect((await new WebhookStore(path).load()).webhooks).toEqual([webhook]);
  });

  it('throws the file system error when the data dir cannot be written', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const store = new WebhookStore(join(dir, 'a-file', 'webhooks.json'));
    await expect(store.save([webhook])).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});

/**
 * The backend's data directory (webhook settings) unwritable or full: a clear error naming the
 * path and the reason, no settings lost or half-written, and the service carries on.
 * The full disk is a real one: a 64 KiB tmpfs mounted for the test (this needs root, as CI is).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startBackend, type Backend } from './harness.js';

const webhook = (name: string) => ({ name, url: 'http://127.0.0.1:9/hook', format: 'generic', minLevel: 'normal', enabled: true });

async function addWebhook(backend: Backend, name: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${backend.url}/api/v1/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(webhook(name)),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function webhookNames(backend: Backend): Promise<string[]> {
  const list = (await (await fetch(`${backend.url}/api/v1/webhooks`)).json()) as { webhooks: Array<{ name: string }> };
  return list.webhooks.map((w) => w.name);
}

/** The backend still does its main job: a beat registers an instance. */
async function expectBeatsAccepted(backend: Backend, instanceId: string): Promise<void> {
  const beat = {
    v: 1,
    kind: 'full',
    instanceId,
    heartbeatTime: Date.now(),
    lastHeartbeatTime: null,
    service: 'disk-fault',
    appName: 'e2e',
    artifact: 'disk-fault',
    appType: 'default',
    hostName: 'h',
    ip: ['10.0.0.1'],
    processId: 7,
    dynamicInstall: false,
    version: '0.1.0',
    plugins: [],
  };
  const response = await fetch(`${backend.url}/api/v1/heartbeat`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(beat),
  });
  expect(response.status).toBe(200);
  expect((await backend.instance(instanceId))?.status).toBe('healthy');
}

const mounts: string[] = [];

describe('data directory faults', () => {
  afterAll(() => {
    killAll();
    for (const dir of mounts) execFileSync('umount', ['-l', dir]);
  });

  it('starts with an unusable data directory, says why, refuses to save settings with the reason, and keeps serving', async () => {
    const parent = join(mkdtempSync(join(tmpdir(), 'vigil-e2e-disk-')), 'a-file');
    writeFileSync(parent, 'not a directory');
    const dataDir = join(parent, 'data');
    const backend = await startBackend({ VIGIL_DATA_DIR: dataDir, VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
    expect(backend.output()).toMatch(new RegExp(`cannot read ${dataDir}/webhooks.json: ENOTDIR`));

    const refused = await addWebhook(backend, 'first');
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({ error: 'cannot save webhook settings', path: `${dataDir}/webhooks.json` });
    expect(String(refused.body.reason)).toMatch(/ENOTDIR/);
    // Not saved means not in effect either: what the API lists is what a restart would load.
    expect(await webhookNames(backend)).toEqual([]);
    await expectBeatsAccepted(backend, 'disk-fault-enotdir');
    expect((await fetch(`${backend.url}/readyz`)).status).toBe(200);
  });

  it('on a full disk keeps the settings it had, whole, across a restart, and keeps serving', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dataDir]);
    } catch (error) {
      throw new Error(`this test mounts a small tmpfs to fill it, which needs root (uid ${process.getuid?.()}): ${String(error)}`, {
        cause: error,
      });
    }
    mounts.push(dataDir);
    let backend = await startBackend({ VIGIL_DATA_DIR: dataDir, VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
    expect((await addWebhook(backend, 'kept')).status).toBe(201);

    // Fill the disk to the last block.
    mkdirSync(join(dataDir, 'filler'));
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(dataDir, 'filler', 'zeros')}`, 'bs=4096'], { stdio: 'ignore' });
    } catch {
      // dd stops with "No space left on device": the point.
    }
    const refused = await addWebhook(backend, 'lost-to-a-full-disk');
    expect(refused.status).toBe(500);
    expect(String(refused.body.reason)).toMatch(/ENOSPC/);
    expect(await webhookNames(backend)).toEqual(['kept']);
    await expectBeatsAccepted(backend, 'disk-fault-enospc');

    backend.child.kill('SIGTERM');
    await new Promise((resolve) => backend.child.once('exit', resolve));
    backend = await startBackend({ VIGIL_DATA_DIR: dataDir, VIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' });
    expect(await webhookNames(backend)).toEqual(['kept']);
  });
});

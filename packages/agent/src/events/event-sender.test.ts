import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventBatch } from '../protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendLink } from '../backend/backend-link';
import { logger } from '../logger';
import { backendLike, backendStandIn, type Answerer, type StandIn } from '../test-support/backend-stand-in';
import { AgentEvents } from './agent-events';
import { EventQueue } from './event-queue';
import { EventSender } from './event-sender';

describe('EventSender', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function backend(answer?: Answerer): Promise<StandIn> {
    const standIn = await backendStandIn(answer);
    cleanups.push(standIn.close);
    return standIn;
  }

  /** Events recorded through AgentEvents and sent by an EventSender, as the agent wires them. */
  function wire(url: string, { capacity = 500, intervalMs = 50 } = {}) {
    const link = new BackendLink([url], { keepAliveMs: 1000 });
    const queue = new EventQueue(capacity);
    const events = new AgentEvents(queue);
    let known = true;
    const sender = new EventSender({ link, queue, instanceId: 'instance-1', intervalMs, instanceKnown: () => known });
    events.onRecorded = () => sender.wake();
    cleanups.push(
      () => link.close(),
      () => sender.stop(),
    );
    return { events, sender, queue, setKnown: (value: boolean) => (known = value) };
  }

  const batches = (standIn: StandIn): EventBatch[] =>
    standIn.received.filter((request) => request.path === '/api/v1/events').map((request) => request.body as EventBatch);

  it('gathers the events of one interval into one batch', async () => {
    const standIn = await backend();
    const { events } = wire(standIn.url);
    events.record('normal', 'agent.started', 'started', { version: '1.0.0', plugins: 2 });
    events.record('important', 'plugin.failed', 'x'.repeat(5000));
    // Both events in the first batch that arrives: split ones would leave the second out of it.
    await vi.waitFor(() => expect(batches(standIn).length).toBeGreaterThan(0), { timeout: 10_000 });
    expect(batches(standIn).slice(0, 1)).toEqual([
      {
        v: 1,
        instanceId: 'instance-1',
        dropped: 0,
        events: [
          {
            time: expect.any(Number),
            level: 'normal',
            type: 'agent.started',
            message: 'started',
            attributes: { plugins: '2', version: '1.0.0' },
          },
          { time: expect.any(Number), level: 'important', type: 'plugin.failed', message: 'x'.repeat(4096) },
        ],
      },
    ]);
  });

  it('sends at most 100 events per batch, the next batch right after', async () => {
    const standIn = await backend();
    const { events } = wire(standIn.url);
    for (let index = 0; index < 250; index += 1) events.record('normal', 'test.event', `event ${index}`);
    await vi.waitFor(() => expect(batches(standIn).flatMap((batch) => batch.events)).toHaveLength(250), {
      timeout: 10_000,
    });
    expect(batches(standIn).map((batch) => batch.events.length)).toEqual([100, 100, 50]);
  });

  it('keeps what it could not send, bounded, and reports the drops with the first batch that arrives', async () => {
    let down = true;
    const accepted: EventBatch[] = [];
    const standIn = await backend((request, index) => {
      if (down) return { status: 503 };
      accepted.push(request.body as EventBatch);
      return backendLike(request, index);
    });
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const { events, queue } = wire(standIn.url, { capacity: 5, intervalMs: 30 });
    for (let index = 0; index < 8; index += 1) events.record('normal', 'test.event', `event ${index}`);
    // Two failed attempts, the batch back in the queue (the next attempt waits out its backoff).
    await vi.waitFor(
      () => {
        expect(standIn.received.length).toBeGreaterThanOrEqual(2);
        expect(queue.size).toBe(5);
      },
      { timeout: 10_000 },
    );
    down = false;
    events.record('emergency', 'test.event', 'urgent');
    await vi.waitFor(() => expect(accepted).toHaveLength(1), { timeout: 10_000 });
    expect(accepted[0]?.events.map((event) => event.message)).toEqual(['event 4', 'event 5', 'event 6', 'event 7', 'urgent']);
    expect(accepted[0]?.dropped).toBe(4);
  });

  it('drops a batch the backend refuses, warning once, and counts it in the next', async () => {
    let refusing = true;
    const standIn = await backend((request, index) =>
      refusing ? { status: 404, body: { message: 'not found' } } : backendLike(request, index),
    );
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const { events } = wire(standIn.url);
    events.record('normal', 'test.event', 'one');
    await vi.waitFor(() => expect(standIn.received).toHaveLength(1), { timeout: 10_000 });
    events.record('normal', 'test.event', 'two');
    await vi.waitFor(() => expect(standIn.received).toHaveLength(2), { timeout: 10_000 });
    refusing = false;
    events.record('normal', 'test.event', 'three');
    await vi.waitFor(() => expect(standIn.received).toHaveLength(3), { timeout: 10_000 });
    expect(batches(standIn).at(-1)).toMatchObject({ events: [{ message: 'three' }], dropped: 2 });
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/refused a batch of events \(HTTP 404\)/);
  });

  it('waits for the backend to know the instance, and puts a batch back when it says it does not', async () => {
    let unknown = 1;
    const accepted: EventBatch[] = [];
    const standIn = await backend((request, index) => {
      if (unknown > 0) {
        unknown -= 1;
        return { status: 400, body: { error: 'unknown instance', issues: ['instanceId: no instance instance-1'] } };
      }
      accepted.push(request.body as EventBatch);
      return backendLike(request, index);
    });
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const { events, setKnown } = wire(standIn.url, { intervalMs: 30 });
    setKnown(false);
    events.record('normal', 'agent.started', 'started');
    // An observation window of several send intervals (30 ms): nothing may go out in it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(standIn.received).toEqual([]);
    setKnown(true);
    await vi.waitFor(() => expect(accepted).toHaveLength(1), { timeout: 10_000 });
    expect(standIn.received).toHaveLength(2);
    expect(accepted[0]).toMatchObject({ events: [{ type: 'agent.started' }], dropped: 0 });
    expect(warn).not.toHaveBeenCalled();
  });

  it('flushes at once when the agent stops, then writes what is left at once on the idle connection', async () => {
    const standIn = await backend();
    const { events, sender, queue } = wire(standIn.url, { intervalMs: 60_000 });
    events.record('normal', 'agent.stopped', 'bye');
    await sender.flush(1000);
    expect(batches(standIn)[0]?.events.map((event) => event.type)).toEqual(['agent.stopped']);
    events.record('normal', 'test.event', 'late');
    // Written synchronously on the kept-alive connection: nothing is left for a worker to send.
    expect(sender.batchNow()).toBeUndefined();
    expect(queue.size).toBe(0);
    await vi.waitFor(
      () => expect(batches(standIn).map((batch) => batch.events.map((event) => event.message))).toEqual([['bye'], ['late']]),
      { timeout: 10_000 },
    );
    expect(sender.batchNow()).toBeUndefined();
  });

  it('hands what is left over as a request when it has no open connection', async () => {
    const standIn = await backend();
    const { events, sender } = wire(standIn.url, { intervalMs: 60_000 });
    events.record('normal', 'test.event', 'before any batch');
    const owed = sender.batchNow();
    expect(owed).toMatchObject({ method: 'POST', url: `${standIn.url}/api/v1/events` });
    expect((JSON.parse(owed?.body ?? '') as EventBatch).events.map((event) => event.message)).toEqual(['before any batch']);
  });

  it('hands over the batch in flight too, when the process exits before it is answered', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      silent.closeAllConnections();
      return new Promise((resolve) => silent.close(resolve));
    });
    const { events, sender } = wire(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    events.record('normal', 'test.event', 'in flight');
    const flushing = sender.flush(300);
    events.record('normal', 'agent.stopped', 'queued');
    const owed = JSON.parse(sender.batchNow()?.body ?? '{}') as EventBatch;
    expect(owed.events.map((event) => event.message)).toEqual(['in flight', 'queued']);
    await flushing;
  });
  it('hands its queue to a full beat (none past the size given), and sends what comes back as a batch', async () => {
    const standIn = await backend();
    const { events, sender, queue, setKnown } = wire(standIn.url, { intervalMs: 50 });
    setKnown(false);
    events.record('normal', 'agent.started', 'started');
    events.record('important', 'plugin.failed', 'failed');
    expect(sender.takeForBeat(10)).toBeUndefined();
    expect(queue.size).toBe(2);
    const taken = sender.takeForBeat(16 * 1024);
    expect(taken?.events.map((event) => event.type)).toEqual(['agent.started', 'plugin.failed']);
    expect(queue.size).toBe(0);
    expect(sender.takeForBeat(16 * 1024)).toBeUndefined();
    // The beat was not taken (an older backend): back in front of what came since, sent as a batch.
    events.record('normal', 'later', 'later');
    sender.giveBack(taken as NonNullable<typeof taken>);
    setKnown(true);
    await vi.waitFor(
      () =>
        expect(batches(standIn).flatMap((batch) => batch.events.map((event) => event.type))).toEqual([
          'agent.started',
          'plugin.failed',
          'later',
        ]),
      {
        timeout: 10_000,
      },
    );
  });
});

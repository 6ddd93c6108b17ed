import type { ConfigDelivery, FullBeat, Heartbeat, PluginCommand } from '../protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendLink } from '../backend/backend-link';
import { logger } from '../logger';
import { backendLike, backendStandIn, type Answerer, type StandIn } from '../test-support/backend-stand-in';
import { content } from '../test-support/beat-content';
import { beatDelay, HeartbeatSender, retryDelay, type BeatEvents, type LastEvents } from './heartbeat-sender';
import type { BeatContent } from './message';

describe('beatDelay', () => {
  it('is the interval, with ±10 % jitter', () => {
    expect(beatDelay(5000, () => 0.5)).toBe(5000);
    expect(beatDelay(5000, () => 0)).toBe(4500);
    expect(beatDelay(5000, () => 1)).toBe(5500);
  });
});

describe('retryDelay', () => {
  it('starts at a quarter of the interval and doubles up to the interval, never beyond', () => {
    expect([1, 2, 3, 4, 5, 50, 5000].map((failures) => retryDelay(5000, failures, () => 0))).toEqual([
      1250, 2500, 5000, 5000, 5000, 5000, 5000,
    ]);
  });

  it('jitters downward only, so a returning backend sees every agent within one interval', () => {
    expect(retryDelay(5000, 9, () => 1)).toBe(4000);
    expect(retryDelay(60_000, 3, () => 0.5)).toBe(54_000);
  });
});

describe('HeartbeatSender', () => {
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

  function send(
    urls: string[],
    options: {
      describe?: () => BeatContent;
      intervalMs?: number;
      onCommands?: (commands: PluginCommand[]) => void;
      onConfig?: (deliveries: ConfigDelivery[]) => void;
      token?: string;
      events?: BeatEvents;
    } = {},
  ): HeartbeatSender {
    const link = new BackendLink(urls, { keepAliveMs: 1000, token: options.token });
    const sender = new HeartbeatSender({
      link,
      instanceId: 'instance-1',
      intervalMs: options.intervalMs ?? 100,
      describe: options.describe ?? (() => content()),
      onCommands: options.onCommands ?? (() => undefined),
      ...(options.events !== undefined && { events: options.events }),
      ...(options.onConfig !== undefined && { onConfig: options.onConfig }),
    });
    sender.start();
    cleanups.push(
      () => link.close(),
      () => sender.stop(),
    );
    return sender;
  }

  it('sends a full beat first, light beats while nothing changes, and a full beat on a change, over one connection', async () => {
    const standIn = await backend();
    let current = content();
    send([`${standIn.url}/`], { describe: () => current });
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    current = content({ plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }] });
    const changedAt = standIn.received.length;
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(changedAt + 3), { timeout: 10_000 });

    const beats = standIn.beats();
    expect(standIn.received[0]).toMatchObject({ method: 'PUT', path: '/api/v1/heartbeat' });
    expect(new Set(standIn.received.map((request) => request.connection))).toEqual(new Set([0]));
    expect(beats[0]).toEqual({
      v: 1,
      kind: 'full',
      heartbeatTime: expect.any(Number),
      lastHeartbeatTime: null,
      ...content(),
    });
    expect(beats.slice(1, changedAt).map((beat) => beat.kind)).toEqual(Array(changedAt - 1).fill('light'));
    // The change shows up in the next beat at the latest (one may have been in flight).
    const firstFullAfter = beats.findIndex((beat, index) => index >= changedAt && beat.kind === 'full');
    expect(firstFullAfter).toBeLessThanOrEqual(changedAt + 1);
    expect((beats[firstFullAfter] as FullBeat).plugins).toEqual(current.plugins);
    expect(beats.slice(firstFullAfter + 1).every((beat) => beat.kind === 'light')).toBe(true);
    // Each beat names the time of the one before.
    beats.slice(1).forEach((beat, index) => expect(beat.lastHeartbeatTime).toBe(beats[index]?.heartbeatTime));
  });

  it('carries the queued events in full beats only, and gives them back unless the backend says it took them', async () => {
    // The first full beat's events are taken; the second full beat (after a change) goes to a
    // backend that ignores them (no eventsTaken): they come back.
    const standIn = await backend((request, index) => {
      const answer = backendLike(request, index);
      return index === 0 ? answer : { status: answer.status, body: { ...(answer.body as object), eventsTaken: undefined } };
    });
    const event = (type: string) => ({ time: 1, level: 'normal' as const, type, message: type });
    const queued: LastEvents[] = [
      { events: [event('agent.started')], dropped: 1 },
      { events: [event('plugin.disabled')], dropped: 0 },
    ];
    const givenBack: LastEvents[] = [];
    let current = content();
    send([standIn.url], {
      describe: () => current,
      events: { take: () => queued.shift(), giveBack: (owed) => void givenBack.push(owed) },
    });
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    current = content({ plugins: [{ name: 'template', version: '1.0.0', extInfo: {} }] });
    await vi.waitFor(() => expect(givenBack).toHaveLength(1), { timeout: 10_000 });
    const beats = standIn.beats();
    expect(beats[0]).toMatchObject({ kind: 'full', events: [event('agent.started')], dropped: 1 });
    expect(beats[1]).toEqual(expect.not.objectContaining({ events: expect.anything() }));
    expect(beats.find((beat, i) => i > 0 && beat.kind === 'full')).toMatchObject({
      events: [event('plugin.disabled')],
      dropped: 0,
    });
    expect(givenBack).toEqual([{ events: [event('plugin.disabled')], dropped: 0 }]);
  });

  it('sends a full beat right away when the backend answers unknown to a light beat', async () => {
    // The unknown answer also sets an hour-long interval: a fourth beat within the wait was sent without waiting for it.
    const standIn = await backend((request, index) =>
      index === 2 ? { status: 200, body: { result: 'unknown', serverTime: Date.now(), interval: 3_600_000 } } : backendLike(request, index),
    );
    vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    send([standIn.url]);
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    const [, , unknown, next] = standIn.beats();
    expect(unknown?.kind).toBe('light');
    expect(next?.kind).toBe('full');
  });

  it('sends a full beat after a failed one', async () => {
    const standIn = await backend((request, index) =>
      index === 2 ? { status: 400, body: { error: 'nope' } } : backendLike(request, index),
    );
    vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    send([standIn.url]);
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
    expect(
      standIn
        .beats()
        .slice(0, 5)
        .map((beat) => beat.kind),
    ).toEqual(['full', 'light', 'light', 'full', 'light']);
  });

  it('says whether the backend knows the instance: not before the first answer, nor after an unknown, until a beat is acknowledged', async () => {
    let answers = 0;
    const standIn = await backend((request, index) => {
      answers += 1;
      return index === 1 ? { status: 200, body: { result: 'unknown', serverTime: Date.now() } } : backendLike(request, index);
    });
    const known: boolean[] = [];
    const watched: { sender?: HeartbeatSender } = {};
    const describeAndWatch = () => {
      if (watched.sender !== undefined) known.push(watched.sender.knownToBackend);
      return content();
    };
    const sender = (watched.sender = send([standIn.url], { describe: describeAndWatch, intervalMs: 50 }));
    expect(sender.knownToBackend).toBe(false);
    await vi.waitFor(() => expect(answers).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    // Read before each beat: first (nothing yet), second (registered), third (answered unknown), fourth (registered again).
    expect(known.slice(0, 4)).toEqual([false, true, false, true]);
  });

  it('keeps trying while the backend is unreachable, saying so once (at start-up, below a warning)', async () => {
    const standIn = await backend();
    await standIn.close();
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const debug = vi.spyOn(logger, 'debug').mockImplementation(() => undefined);
    send([standIn.url]);
    await vi.waitFor(() => expect(debug.mock.calls.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    expect(info).toHaveBeenCalledOnce();
    expect(String(info.mock.calls[0]?.[0])).toMatch(
      /heartbeat to http:\/\/127\.0\.0\.1:\d+ failed \(.*ECONNREFUSED.*\); the backend may still be starting, next attempt in \d+ ms/,
    );
  });

  it('beats at the interval the backend sets', async () => {
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const standIn = await backend((request, index) => ({
      status: 200,
      body: { ...(backendLike(request, index).body as object), interval: 150 },
    }));
    // Started at an hour: four beats within the wait are beats at the backend's 150 ms.
    send([standIn.url], { intervalMs: 3_600_000 });
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    expect(info).toHaveBeenCalledWith('the backend set the heartbeat interval to 150 ms (was 3600000 ms)');
  });

  it('slows down to the interval a 429 names, and beats on at it', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const standIn = await backend((request, index) =>
      index === 2 ? { status: 429, body: { error: 'too many beats', interval: 400 } } : backendLike(request, index),
    );
    send([standIn.url], { intervalMs: 100 });
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
    const times = standIn.received.map((request) => request.at);
    // Before the 429: about 100 ms apart; after it: about 400 ms (±10 % jitter), and no failure counted.
    for (let i = 3; i < 5; i += 1) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(350);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('heartbeat interval now 400 ms (was 100 ms)'));
  });

  it('sends the agent token as a bearer header, also in a goodbye owed to sync-send', async () => {
    const standIn = await backend();
    const sender = send([standIn.url], { token: 'agent-token-0123456789' });
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
    expect(standIn.received[0]?.authorization).toBe('Bearer agent-token-0123456789');
    sender.stop();
    const link = new BackendLink([standIn.url], { keepAliveMs: 1000, token: 'agent-token-0123456789', ca: 'PEM' });
    cleanups.push(() => link.close());
    expect(link.pending('PUT', '/api/v1/heartbeat', '{}')).toMatchObject({
      headers: { authorization: 'Bearer agent-token-0123456789', 'content-type': 'application/json' },
      ca: 'PEM',
    });
  });

  it('hands the commands of a reply over, leaves out malformed parts with one warning, and survives a failing handler', async () => {
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const commands = [
      { id: 'c1', type: 'plugin.disable', plugin: 'template' },
      { id: 'c2', type: 'plugin.explode', plugin: 'template' },
    ];
    const standIn = await backend((request, index) => ({
      status: 200,
      body: { ...(backendLike(request, index).body as object), ...(index < 2 ? { commands, interval: 5 } : {}) },
    }));
    const received: PluginCommand[][] = [];
    send([standIn.url], {
      onCommands: (delivered) => {
        received.push(delivered);
        throw new Error('handler bug');
      },
    });
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    expect(received).toEqual([[commands[0]], [commands[0]]]);
    // A handler failure is not a failed beat: the third beat is still light.
    expect(
      standIn
        .beats()
        .slice(0, 4)
        .map((beat) => beat.kind),
    ).toEqual(['full', 'light', 'light', 'light']);
    const messages = warn.mock.calls.map((call) => String(call.at(-1)));
    expect(messages.filter((message) => message.includes('heartbeat reply from'))).toEqual([
      expect.stringMatching(/interval 5 ignored.*; commands\[1\] ignored: \{"id":"c2","type":"plugin\.explode"/),
    ]);
    expect(messages.filter((message) => message.includes('handler bug'))).toHaveLength(2);
  });

  it('hands the configuration a reply delivers over; the version applied makes the next beat a full one carrying it', async () => {
    const delivery = { plugin: 'template', version: 3, values: { greeting: 'Bonjour' } };
    let configVersion = 0;
    const standIn = await backend((request, index) => {
      const answer = backendLike(request, index);
      // Like the real backend: sent while the beats do not report the version applied.
      return configVersion === 3 ? answer : { ...answer, body: { ...(answer.body as object), config: [delivery] } };
    });
    const received: ConfigDelivery[][] = [];
    const template = () => ({
      name: 'template',
      version: '1.2.0',
      extInfo: {},
      settings: { greeting: { type: 'string' as const } },
      configVersion,
    });
    send([standIn.url], {
      describe: () => content({ plugins: [template()] }),
      onConfig: (deliveries) => {
        received.push(deliveries);
        configVersion = 3;
      },
    });
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
    expect(received).toEqual([[delivery]]);
    const beats = standIn.beats();
    expect(beats.slice(0, 3).map((beat) => beat.kind)).toEqual(['full', 'full', 'light']);
    expect((beats[1] as FullBeat).plugins[0]).toMatchObject({ name: 'template', configVersion: 3 });
  });

  it('says goodbye once, stops beating, and owes nothing once the backend acknowledged it', async () => {
    const standIn = await backend();
    const sender = send([standIn.url]);
    await vi.waitFor(() => expect(standIn.received.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    await sender.goodbye(1000);
    await sender.goodbye(1000);
    const count = standIn.received.length;
    const beats = standIn.beats();
    const goodbye = beats.at(-1) as Heartbeat;
    expect(goodbye).toEqual({
      v: 1,
      kind: 'goodbye',
      instanceId: 'instance-1',
      heartbeatTime: expect.any(Number),
      lastHeartbeatTime: beats.at(-2)?.heartbeatTime,
    });
    expect(beats.filter((beat) => beat.kind === 'goodbye')).toHaveLength(1);
    expect(sender.goodbyeNow()).toBeUndefined();
    // An observation window of three intervals (100 ms): no beat may follow the goodbye.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(standIn.received.length).toBe(count);
  });

  it('owes the goodbye as a request while it is not acknowledged, and none before the first beat', async () => {
    const standIn = await backend();
    await standIn.close();
    const info = vi.spyOn(logger, 'info').mockImplementation(() => undefined);
    const sender = send([standIn.url]);
    await vi.waitFor(() => expect(info).toHaveBeenCalled(), { timeout: 10_000 });
    const owed = sender.goodbyeNow();
    expect(owed).toMatchObject({ method: 'PUT', url: `${standIn.url}/api/v1/heartbeat` });
    expect(JSON.parse(owed?.body ?? '')).toMatchObject({ kind: 'goodbye', instanceId: 'instance-1' });

    const never = new HeartbeatSender({
      link: new BackendLink([standIn.url], { keepAliveMs: 1000 }),
      instanceId: 'instance-2',
      intervalMs: 100,
      describe: () => content(),
      onCommands: () => undefined,
    });
    expect(never.goodbyeNow()).toBeUndefined();
  });

  it('writes the goodbye at once on the idle kept-alive connection, from within an exit, without a worker', async () => {
    const standIn = await backend();
    const sender = send([standIn.url]);
    await vi.waitFor(() => expect(standIn.beats().length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    // Between beats the connection is idle: the goodbye needs no event loop turn and no thread.
    await vi.waitFor(() => expect(sender.goodbyeNow()).toBeUndefined(), { timeout: 10_000 });
    await vi.waitFor(() => expect(standIn.beats().at(-1)).toMatchObject({ kind: 'goodbye', instanceId: 'instance-1' }), {
      timeout: 10_000,
    });
    expect(standIn.beats().filter((beat) => beat.kind === 'goodbye')).toHaveLength(1);
  });
});

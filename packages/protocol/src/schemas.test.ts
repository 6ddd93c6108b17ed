import { describe, expect, it } from 'vitest';
import { LIMITS } from './constants.js';
import { beatReplySchema, describeIssues, eventBatchSchema, fullBeatSchema, heartbeatSchema, parseHeartbeat } from './schemas.js';
import { deltaSchema, MAX_WATCHED_INSTANCES, MAX_WINDOW_ROWS, viewRequestSchema } from './views.js';

const goodFull = {
  v: 1,
  kind: 'full',
  instanceId: '6f1c2a4e-8d3b-4c1e-9a57-0b2f6c7d8e91',
  heartbeatTime: 1_790_000_005_000,
  lastHeartbeatTime: 1_790_000_000_000,
  service: 'demo-service',
  appName: 'vigil-demo',
  artifact: 'demo-service',
  appType: 'default',
  hostName: 'web-1',
  ip: ['10.0.0.5', 'fe80::1'],
  processId: 4242,
  dynamicInstall: false,
  version: '0.1.0',
  plugins: [{ name: 'template', version: '1.2.0', extInfo: { status: 'started' } }],
};

const goodLight = {
  v: 1,
  kind: 'light',
  instanceId: goodFull.instanceId,
  heartbeatTime: 1_790_000_010_000,
  lastHeartbeatTime: 1_790_000_005_000,
};

function issuesOf(input: unknown): string[] {
  const result = heartbeatSchema.safeParse(input);
  if (result.success) throw new Error('expected the message to be refused');
  return describeIssues(result.error);
}

describe('heartbeat schema', () => {
  it('accepts a full beat with plugins and ext-info', () => {
    expect(heartbeatSchema.parse(goodFull)).toEqual(goodFull);
  });

  it('accepts a light beat and a first beat with no previous time', () => {
    expect(heartbeatSchema.parse(goodLight)).toEqual(goodLight);
    expect(heartbeatSchema.parse({ ...goodFull, lastHeartbeatTime: null }).lastHeartbeatTime).toBeNull();
  });

  it('drops unknown fields instead of storing them', () => {
    expect(heartbeatSchema.parse({ ...goodLight, extra: 'x'.repeat(10) })).not.toHaveProperty('extra');
  });

  it('names the field when a type is wrong', () => {
    expect(issuesOf({ ...goodFull, processId: '4242' })).toEqual(['processId: Invalid input: expected number, received string']);
    expect(issuesOf({ ...goodFull, ip: ['not-an-ip'] })[0]).toMatch(/^ip\.0: /);
    expect(issuesOf({ ...goodFull, plugins: [{ name: 'x', version: '1', extInfo: { status: 3 } }] })[0]).toMatch(
      /^plugins\.0\.extInfo\.status: /,
    );
  });

  it('refuses an unknown protocol version or kind', () => {
    expect(issuesOf({ ...goodLight, v: 2 })[0]).toMatch(/^v: /);
    expect(issuesOf({ ...goodLight, kind: 'medium' })[0]).toMatch(/^kind: /);
  });

  it('refuses negative, fractional and non-finite times', () => {
    expect(issuesOf({ ...goodLight, heartbeatTime: -1 })[0]).toMatch(/^heartbeatTime: /);
    expect(issuesOf({ ...goodLight, heartbeatTime: 1.5 })[0]).toMatch(/^heartbeatTime: /);
    expect(issuesOf({ ...goodLight, heartbeatTime: Number.POSITIVE_INFINITY })[0]).toMatch(/^heartbeatTime: /);
  });

  it('refuses a full beat missing its identity, listing each missing field', () => {
    const issues = issuesOf({ v: 1, kind: 'full', instanceId: 'x', heartbeatTime: 1, lastHeartbeatTime: null });
    expect(issues.map((issue) => issue.split(':')[0])).toEqual([
      'service',
      'appName',
      'artifact',
      'appType',
      'hostName',
      'ip',
      'processId',
      'dynamicInstall',
      'version',
      'plugins',
    ]);
  });

  it('enforces the documented limits', () => {
    const plugins = Array.from({ length: LIMITS.plugins + 1 }, (_, i) => ({
      name: `p${i}`,
      version: '1',
      extInfo: {},
    }));
    expect(issuesOf({ ...goodFull, plugins })[0]).toMatch(/^plugins: /);
    const extInfo = Object.fromEntries(Array.from({ length: LIMITS.extInfoEntries + 1 }, (_, i) => [`k${i}`, 'v']));
    expect(issuesOf({ ...goodFull, plugins: [{ name: 'p', version: '1', extInfo }] })[0]).toMatch(/extInfo: at most 64/);
    expect(issuesOf({ ...goodLight, instanceId: 'i'.repeat(LIMITS.idLength + 1) })[0]).toMatch(/^instanceId: /);
    expect(fullBeatSchema.safeParse({ ...goodFull, service: '' }).success).toBe(false);
  });

  it('refuses a body that is not an object', () => {
    expect(issuesOf(null)[0]).toMatch(/^\(body\): /);
    expect(issuesOf('beat')[0]).toMatch(/^\(body\): /);
  });
});

describe('goodbye', () => {
  it('accepts a goodbye with the light beat fields', () => {
    expect(heartbeatSchema.parse({ ...goodLight, kind: 'goodbye' }).kind).toBe('goodbye');
  });

  it('carries the last events through the fast path too, and refuses bad ones naming the field', () => {
    const events = [
      {
        time: 5,
        level: 'normal',
        type: 'agent.stopped',
        message: 'vigil agent stopped (SIGTERM)',
        attributes: { reason: 'SIGTERM' },
      },
    ];
    expect(parseHeartbeat({ ...goodLight, kind: 'goodbye', events, dropped: 2 }).data).toEqual({
      ...goodLight,
      kind: 'goodbye',
      events,
      dropped: 2,
    });
    const bad = parseHeartbeat({ ...goodLight, kind: 'goodbye', events: [{ ...events[0], type: 'Not Dotted' }] });
    expect(bad.success).toBe(false);
    expect(describeIssues(bad.error!)).toEqual([expect.stringMatching(/^events\.0\.type: /)]);
    expect(parseHeartbeat({ ...goodLight, kind: 'goodbye', events: Array(101).fill(events[0]) }).success).toBe(false);
  });
});

describe('reply and delta schemas', () => {
  it('accepts the answers the backend sends', () => {
    expect(beatReplySchema.parse({ result: 'unknown', serverTime: 5 })).toEqual({ result: 'unknown', serverTime: 5 });
    expect(beatReplySchema.safeParse({ result: 'maybe', serverTime: 5 }).success).toBe(false);
  });

  it('carries a new interval and plugin commands, within bounds', () => {
    const reply = {
      result: 'renewed',
      serverTime: 5,
      interval: 10_000,
      commands: [{ id: 'c1', type: 'plugin.disable', plugin: 'template' }],
    };
    expect(beatReplySchema.parse(reply)).toEqual(reply);
    expect(beatReplySchema.safeParse({ ...reply, interval: 50 }).success).toBe(false);
    expect(beatReplySchema.safeParse({ ...reply, interval: Number.NaN }).success).toBe(false);
    expect(beatReplySchema.safeParse({ ...reply, commands: [{ id: 'c1', type: 'plugin.remove', plugin: 'x' }] }).success).toBe(false);
  });

  it('accepts a delta and refuses one with a malformed instance', () => {
    const delta = { upserts: [], removed: ['a'], beats: { b: 10 }, events: [], serverTime: 11 };
    expect(deltaSchema.parse(delta)).toEqual(delta);
    expect(deltaSchema.safeParse({ ...delta, upserts: [{ instanceId: 'x' }] }).success).toBe(false);
    const counts = {
      apps: 1,
      services: 1,
      instances: 2,
      byStatus: { healthy: 1, suspect: 0, lost: 1, offline: 0, unhealthy: 0 },
    };
    const withWindow = { ...delta, window: { total: 2, ids: ['a', 'b'] }, counts };
    expect(deltaSchema.parse(withWindow)).toEqual(withWindow);
    // Counts always name every status, so a client never has to guess a missing one.
    expect(deltaSchema.safeParse({ ...delta, counts: { ...counts, byStatus: { healthy: 1 } } }).success).toBe(false);
  });
});

describe('dashboard views', () => {
  const window = { service: 'orders', status: ['lost', 'suspect'], sort: 'lastHeartbeatTime', offset: 0, limit: 200 };

  it('accepts a window over the instance list and instances watched by id', () => {
    expect(viewRequestSchema.parse({ window, watch: ['i-1'] })).toEqual({ window, watch: ['i-1'] });
    expect(viewRequestSchema.parse({ window: null, watch: [] })).toEqual({ window: null, watch: [] });
  });

  it('names what is wrong with a view', () => {
    const issues = (view: unknown) => {
      const result = viewRequestSchema.safeParse(view);
      return result.success ? [] : describeIssues(result.error);
    };
    expect(issues({ window: { ...window, limit: MAX_WINDOW_ROWS + 1 }, watch: [] })).toEqual([
      `window.limit: Too big: expected number to be <=${MAX_WINDOW_ROWS}`,
    ]);
    expect(issues({ window: { ...window, sort: 'pid' }, watch: [] })[0]).toMatch(/^window\.sort: /);
    expect(issues({ window: { ...window, status: ['zombie'] }, watch: [] })[0]).toMatch(/^window\.status\.0: /);
    expect(issues({ window: null, watch: Array.from({ length: MAX_WATCHED_INSTANCES + 1 }, (_, i) => `i-${i}`) })[0]).toMatch(/^watch: /);
  });
});

describe('event batches', () => {
  const batch = {
    v: 1,
    instanceId: 'i-1',
    dropped: 0,
    events: [
      { time: 1, level: 'important', type: 'plugin.failed', message: 'broken entry', attributes: { plugin: 'x' } },
      { time: 2, level: 'normal', type: 'agent.started', message: 'started' },
    ],
  };

  it('accepts a batch of agent events', () => {
    expect(eventBatchSchema.parse(batch)).toEqual(batch);
  });

  it('names the bad field of a bad event', () => {
    const result = eventBatchSchema.safeParse({ ...batch, events: [{ ...batch.events[0], level: 'urgent' }] });
    expect(result.success).toBe(false);
    if (!result.success) expect(describeIssues(result.error)[0]).toMatch(/^events\.0\.level: /);
    expect(eventBatchSchema.safeParse({ ...batch, events: [{ ...batch.events[1], type: 'Agent Started' }] }).success).toBe(false);
  });

  it('refuses batches over the limit', () => {
    const events = Array.from({ length: LIMITS.eventsPerBatch + 1 }, () => batch.events[1]);
    expect(eventBatchSchema.safeParse({ ...batch, events }).success).toBe(false);
  });
});

describe('parseHeartbeat (fast path for light beats and goodbyes)', () => {
  const variants: unknown[] = [
    goodLight,
    { ...goodLight, kind: 'goodbye' },
    { ...goodLight, lastHeartbeatTime: null },
    { ...goodLight, extra: 'dropped', nested: { a: 1 } },
    { ...goodLight, heartbeatTime: 0 },
    { ...goodLight, instanceId: 'x'.repeat(LIMITS.idLength) },
    goodFull,
    // Each of these must be refused exactly as the schema refuses it.
    { ...goodLight, instanceId: 'x'.repeat(LIMITS.idLength + 1) },
    { ...goodLight, instanceId: '' },
    { ...goodLight, instanceId: 42 },
    { ...goodLight, v: 2 },
    { ...goodLight, v: '1' },
    { ...goodLight, heartbeatTime: -1 },
    { ...goodLight, heartbeatTime: 1.5 },
    { ...goodLight, heartbeatTime: Number.MAX_SAFE_INTEGER + 2 },
    { ...goodLight, heartbeatTime: '1790000010000' },
    { ...goodLight, lastHeartbeatTime: undefined },
    { ...goodLight, lastHeartbeatTime: Number.NaN },
    { ...goodLight, kind: 'lite' },
    { ...goodLight, kind: undefined },
    [goodLight],
    null,
    'light',
    42,
  ];

  it("gives the schema's verdict and output for every body", () => {
    for (const body of variants) {
      const fast = parseHeartbeat(body);
      const slow = heartbeatSchema.safeParse(body);
      expect(fast.success, JSON.stringify(body)).toBe(slow.success);
      if (slow.success) expect(fast.data).toStrictEqual(slow.data);
      else expect(describeIssues(fast.error!)).toEqual(describeIssues(slow.error));
    }
  });
});

describe('each limit, exactly at it and one over', () => {
  const entries = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
  const ips = (count: number) => Array.from({ length: count }, (_, i) => `10.7.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  const plugin = (extInfo: Record<string, string>) => [{ name: 'p', version: '1', extInfo }];
  const key = 'k'.repeat(LIMITS.extInfoKeyLength);
  const value = 'v'.repeat(LIMITS.extInfoValueLength);
  /** [the limit, the beat's fields at it, one over, the field the refusal names] */
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
    ['hostNameLength', { hostName: 'h'.repeat(LIMITS.hostNameLength) }, { hostName: 'h'.repeat(LIMITS.hostNameLength + 1) }, 'hostName'],
    ['ips', { ip: ips(LIMITS.ips) }, { ip: ips(LIMITS.ips + 1) }, 'ip'],
    ['extInfoKeyLength', { plugins: plugin({ [key]: 'v' }) }, { plugins: plugin({ [`${key}k`]: 'v' }) }, `plugins.0.extInfo.${key}k`],
    ['extInfoValueLength', { plugins: plugin({ k: value }) }, { plugins: plugin({ k: `${value}v` }) }, 'plugins.0.extInfo.k'],
    ['metadataEntries', { metadata: entries(LIMITS.metadataEntries) }, { metadata: entries(LIMITS.metadataEntries + 1) }, 'metadata'],
  ];

  it.each(cases)('%s: at the limit accepted, one over refused naming the field', (_limit, atLimit, overLimit, field) => {
    expect(heartbeatSchema.safeParse({ ...goodFull, ...atLimit }).success).toBe(true);
    expect(issuesOf({ ...goodFull, ...overLimit }).map((issue) => issue.slice(0, issue.indexOf(': ')))).toEqual([field]);
  });

  it('eventAttributes: an event with 32 attributes accepted, 33 refused naming its attributes', () => {
    const batch = (attributes: Record<string, string>) => ({
      v: 1,
      instanceId: 'i-1',
      dropped: 0,
      events: [{ time: 1, level: 'normal', type: 'log.info', message: 'm', attributes }],
    });
    expect(eventBatchSchema.safeParse(batch(entries(LIMITS.eventAttributes))).success).toBe(true);
    const over = eventBatchSchema.safeParse(batch(entries(LIMITS.eventAttributes + 1)));
    expect(over.success).toBe(false);
    if (!over.success) expect(describeIssues(over.error)).toEqual([`events.0.attributes: at most ${LIMITS.eventAttributes} attributes`]);
  });

  it('commandsPerReply: a reply carries at most 32 commands', () => {
    const commands = (count: number) => Array.from({ length: count }, (_, i) => ({ id: `c${i}`, type: 'plugin.disable', plugin: 'p' }));
    expect(beatReplySchema.safeParse({ result: 'renewed', serverTime: 5, commands: commands(LIMITS.commandsPerReply) }).success).toBe(true);
    expect(beatReplySchema.safeParse({ result: 'renewed', serverTime: 5, commands: commands(LIMITS.commandsPerReply + 1) }).success).toBe(
      false,
    );
  });
});

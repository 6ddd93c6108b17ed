import { metricsOf, type InstanceMetrics } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import type { StoredAlertRule } from './alert-rule-schema.js';
import { alertEvent } from './rule-events.js';
import { RuleEvaluator, type AlertTransition } from './rule-evaluator.js';

/**
 * The evaluator as an operator meets it through events: a sample every beat (5 s apart here),
 * rules that fire after N beats or T ms, clear once, and never fire twice for one breach.
 */

const BEAT_MS = 5_000;
const T0 = 1_790_000_000_000;

function rule(overrides: Partial<StoredAlertRule> = {}): StoredAlertRule {
  return {
    id: 'r-loop',
    name: 'loop stuck',
    metric: 'eventLoopDelayP99',
    comparison: '>',
    threshold: 500,
    forBeats: 3,
    forMs: null,
    level: 'important',
    service: null,
    enabled: true,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** Metrics with every figure at a quiet value, some overridden. */
function metrics(time: number, figures: Partial<InstanceMetrics> = {}): InstanceMetrics {
  return { ...metricsOf([5, 100e6, 40e6, 400e6, 1, 10, 20, 0.1, 0, 60, 4], time), ...figures };
}

function harness(rules: StoredAlertRule[]) {
  const transitions: AlertTransition[] = [];
  const evaluator = new RuleEvaluator((t) => transitions.push(t));
  evaluator.setRules(rules, T0);
  let beat = 0;
  /** One beat of `instance` (service `orders` unless given) at the next beat time. */
  const sample = (figures: Partial<InstanceMetrics>, instanceId = 'i-1', service = 'orders') =>
    evaluator.sample({ instanceId, service, metrics: metrics(T0 + ++beat * BEAT_MS, figures) });
  const kinds = () => transitions.map((t) => `${t.kind} ${t.rule.id} ${t.instanceId}${t.reason ? ` (${t.reason})` : ''}`);
  return { evaluator, transitions, sample, kinds, now: () => T0 + beat * BEAT_MS };
}

describe('alert rule evaluation', () => {
  it('fires once after N consecutive breaching beats, never again while the breach lasts, and clears once when it ends', () => {
    const h = harness([rule()]);
    h.sample({ eventLoopDelayP99: 900 });
    h.sample({ eventLoopDelayP99: 900 });
    expect(h.kinds()).toEqual([]);
    h.sample({ eventLoopDelayP99: 800 });
    expect(h.kinds()).toEqual(['fired r-loop i-1']);
    expect(h.transitions[0]).toMatchObject({ value: 800, service: 'orders', time: T0 + 3 * BEAT_MS });
    expect(h.evaluator.firing('r-loop')).toBe(1);
    for (let i = 0; i < 5; i++) h.sample({ eventLoopDelayP99: 1200 });
    expect(h.kinds()).toEqual(['fired r-loop i-1']);
    h.sample({ eventLoopDelayP99: 12 });
    h.sample({ eventLoopDelayP99: 12 });
    expect(h.kinds()).toEqual(['fired r-loop i-1', 'cleared r-loop i-1 (recovered)']);
    expect(h.transitions[1]).toMatchObject({ value: 12 });
    expect(h.evaluator.firing('r-loop')).toBe(0);
    expect(h.evaluator.breaches).toBe(0);
  });

  it('starts the count again when a beat in the run does not breach', () => {
    const h = harness([rule()]);
    h.sample({ eventLoopDelayP99: 900 });
    h.sample({ eventLoopDelayP99: 900 });
    h.sample({ eventLoopDelayP99: 100 });
    h.sample({ eventLoopDelayP99: 900 });
    h.sample({ eventLoopDelayP99: 900 });
    expect(h.kinds()).toEqual([]);
    h.sample({ eventLoopDelayP99: 900 });
    expect(h.kinds()).toEqual(['fired r-loop i-1']);
  });

  it('compares as the rule says: the threshold itself breaches >= and <=, not > and <', () => {
    const h = harness([
      rule({ id: 'gt', forBeats: 1, metric: 'cpu', comparison: '>', threshold: 90 }),
      rule({ id: 'ge', forBeats: 1, metric: 'cpu', comparison: '>=', threshold: 90 }),
      rule({ id: 'lt', forBeats: 1, metric: 'cpu', comparison: '<', threshold: 90 }),
      rule({ id: 'le', forBeats: 1, metric: 'cpu', comparison: '<=', threshold: 90 }),
    ]);
    h.sample({ cpu: 90 });
    expect(h.kinds().sort()).toEqual(['fired ge i-1', 'fired le i-1']);
  });

  it('with forMs, fires at the first beat at least that long after the first breaching one, judged at each beat (injected times)', () => {
    const h = harness([rule({ id: 'r-cpu', metric: 'cpu', threshold: 90, forBeats: null, forMs: 60_000 })]);
    const at = (ms: number, cpu: number) =>
      h.evaluator.sample({ instanceId: 'i-1', service: 'orders', metrics: metrics(T0 + ms, { cpu }) });
    at(0, 95);
    at(30_000, 97);
    at(59_999, 99);
    expect(h.kinds()).toEqual([]);
    at(60_000, 93);
    expect(h.kinds()).toEqual(['fired r-cpu i-1']);
    expect(h.transitions[0]).toMatchObject({ value: 93, time: T0 + 60_000 });
    // A dip restarts the clock.
    at(70_000, 10);
    at(80_000, 95);
    at(139_999, 95);
    expect(h.kinds()).toEqual(['fired r-cpu i-1', 'cleared r-cpu i-1 (recovered)']);
    at(140_000, 95);
    expect(h.kinds()).toEqual(['fired r-cpu i-1', 'cleared r-cpu i-1 (recovered)', 'fired r-cpu i-1']);
  });

  it('judges heap used as a percentage of the heap limit, and skips a figure the agent did not sample (no breach, no recovery)', () => {
    const h = harness([rule({ id: 'r-heap', metric: 'heapUsedPercent', threshold: 90, forBeats: 2 })]);
    h.sample({ heapUsed: 95, heapLimit: 100 });
    h.sample({ heapUsed: null });
    h.sample({ heapUsed: 91, heapLimit: 100 });
    expect(h.kinds()).toEqual(['fired r-heap i-1']);
    h.sample({ heapLimit: null });
    h.sample({ heapLimit: 0 });
    expect(h.kinds()).toEqual(['fired r-heap i-1']);
    h.sample({ heapUsed: 89, heapLimit: 100 });
    expect(h.kinds()).toEqual(['fired r-heap i-1', 'cleared r-heap i-1 (recovered)']);
  });

  it('judges each instance on its own, and a rule scoped to a service only that service', () => {
    const h = harness([rule({ id: 'all', forBeats: 1 }), rule({ id: 'pay', forBeats: 1, service: 'payments' })]);
    h.sample({ eventLoopDelayP99: 900 }, 'i-1', 'orders');
    h.sample({ eventLoopDelayP99: 900 }, 'p-1', 'payments');
    h.sample({ eventLoopDelayP99: 10 }, 'p-2', 'payments');
    expect(h.kinds().sort()).toEqual(['fired all i-1', 'fired all p-1', 'fired pay p-1']);
    expect([h.evaluator.firing('all'), h.evaluator.firing('pay')]).toEqual([2, 1]);
    h.sample({ eventLoopDelayP99: 10 }, 'p-1', 'payments');
    expect(h.kinds().slice(3).sort()).toEqual(['cleared all p-1 (recovered)', 'cleared pay p-1 (recovered)']);
    expect([h.evaluator.firing('all'), h.evaluator.firing('pay')]).toEqual([1, 0]);
  });

  it('keeps state only for pairs in a breach: a quiet fleet costs nothing', () => {
    const h = harness([rule(), rule({ id: 'cpu', metric: 'cpu', threshold: 90 })]);
    for (let i = 0; i < 1_000; i++) h.sample({}, `i-${i}`);
    expect(h.evaluator.breaches).toBe(0);
    h.sample({ cpu: 99 }, 'i-7');
    expect(h.evaluator.breaches).toBe(1);
  });

  it('clears when the instance is lost, offline or removed, and judges afresh when it beats again', () => {
    const h = harness([rule({ forBeats: 1 })]);
    for (const id of ['a', 'b', 'c']) h.sample({ eventLoopDelayP99: 900 }, id);
    h.evaluator.instanceGone('a', 'instance lost', h.now());
    h.evaluator.instanceGone('b', 'instance offline', h.now());
    h.evaluator.instanceGone('c', 'instance removed', h.now());
    h.evaluator.instanceGone('never-seen', 'instance lost', h.now());
    expect(h.kinds().slice(3)).toEqual([
      'cleared r-loop a (instance lost)',
      'cleared r-loop b (instance offline)',
      'cleared r-loop c (instance removed)',
    ]);
    expect(h.evaluator.firing('r-loop')).toBe(0);
    h.sample({ eventLoopDelayP99: 900 }, 'a');
    expect(h.kinds().at(-1)).toBe('fired r-loop a');
  });

  it('clears an instance whose samples stopped for longer than its stale time, and only that one', () => {
    const h = harness([rule({ forBeats: 1 })]);
    h.sample({ eventLoopDelayP99: 900 }, 'quiet');
    h.sample({ eventLoopDelayP99: 900 }, 'busy');
    const quietAt = T0 + BEAT_MS;
    h.evaluator.sweep(quietAt + 30_000, () => 30_000);
    expect(h.kinds()).toEqual(['fired r-loop quiet', 'fired r-loop busy']);
    h.evaluator.sweep(quietAt + 30_001, () => 30_000);
    expect(h.kinds().slice(2)).toEqual(['cleared r-loop quiet (no metrics)']);
  });

  it('on a rule change: deleting, disabling or changing what it judges clears its alerts and starts over; a rename keeps them', () => {
    const rules = [
      rule({ id: 'a', forBeats: 1 }),
      rule({ id: 'b', forBeats: 1 }),
      rule({ id: 'c', forBeats: 1 }),
      rule({ id: 'd', forBeats: 1 }),
    ];
    const h = harness(rules);
    h.sample({ eventLoopDelayP99: 900 });
    expect(h.transitions).toHaveLength(4);
    h.evaluator.setRules(
      [
        { ...rules[1]!, enabled: false },
        { ...rules[2]!, threshold: 1_000 },
        { ...rules[3]!, name: 'renamed', level: 'emergency' },
      ],
      h.now(),
    );
    expect(h.kinds().slice(4)).toEqual(['cleared a i-1 (rule deleted)', 'cleared b i-1 (rule disabled)', 'cleared c i-1 (rule changed)']);
    expect(h.evaluator.firing('d')).toBe(1);
    // The changed rule judges by its new threshold from the next beat; the renamed one still fires, once.
    h.sample({ eventLoopDelayP99: 900 });
    expect(h.transitions).toHaveLength(7);
    h.sample({ eventLoopDelayP99: 1_100 });
    expect(h.kinds().slice(7)).toEqual(['fired c i-1']);
    h.sample({ eventLoopDelayP99: 5 });
    const cleared = h.transitions.filter((t) => t.kind === 'cleared' && t.reason === 'recovered');
    expect(cleared.map((t) => `${t.rule.id}: ${t.rule.name}`).sort()).toEqual(['c: loop stuck', 'd: renamed']);
  });
});

describe('alert events', () => {
  it('words a firing at the rule level and a clearing at normal, with the agreed attributes', () => {
    const fired = alertEvent({
      kind: 'fired',
      rule: rule({ name: 'CPU hot', metric: 'cpu', threshold: 90, forBeats: null, forMs: 60_000, level: 'emergency', service: 'orders' }),
      instanceId: 'i-1',
      service: 'orders',
      value: 97.123456,
      time: T0,
    });
    expect(fired).toEqual({
      time: T0,
      level: 'emergency',
      type: 'alert.fired',
      origin: 'backend',
      message: 'alert "CPU hot": cpu 97.123 > 90 for 1 min',
      instanceId: 'i-1',
      service: 'orders',
      attributes: {
        rule: 'r-loop',
        ruleName: 'CPU hot',
        metric: 'cpu',
        comparison: '>',
        value: '97.123',
        threshold: '90',
        service: 'orders',
      },
    });
    const cleared = alertEvent({
      kind: 'cleared',
      rule: rule(),
      instanceId: 'i-1',
      service: 'orders',
      value: 12,
      time: T0,
      reason: 'recovered',
    });
    expect(cleared).toMatchObject({
      level: 'normal',
      type: 'alert.cleared',
      message: 'alert "loop stuck" cleared: eventLoopDelayP99 12 no longer > 500',
      attributes: {
        rule: 'r-loop',
        ruleName: 'loop stuck',
        metric: 'eventLoopDelayP99',
        value: '12',
        threshold: '500',
        reason: 'recovered',
      },
    });
    const lost = alertEvent({
      kind: 'cleared',
      rule: rule(),
      instanceId: 'i-1',
      service: 'orders',
      value: 900,
      time: T0,
      reason: 'instance lost',
    });
    expect(lost.message).toBe('alert "loop stuck" cleared: instance lost');
  });
});

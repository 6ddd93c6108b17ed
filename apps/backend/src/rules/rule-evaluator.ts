import type { MetricsSample } from '../health/metrics-feed.js';
import { breachTest, metricReader, type MetricReader } from './alert-metric.js';
import type { StoredAlertRule } from './alert-rule-schema.js';

/** Why an alert cleared: its metric came back, or it can no longer be judged (docs/alert-rules.md). */
export type ClearReason =
  | 'recovered'
  | 'instance lost'
  | 'instance offline'
  | 'instance removed'
  | 'no metrics'
  | 'rule deleted'
  | 'rule disabled'
  | 'rule changed';

/** A firing or a clearing, for the event log (rule-events.ts words it). */
export interface AlertTransition {
  kind: 'fired' | 'cleared';
  rule: StoredAlertRule;
  instanceId: string;
  service: string;
  /** The sample's value (fired, recovered), or the last breaching one (other clears). */
  value: number;
  time: number;
  reason?: ClearReason;
}

/** An enabled rule, ready to judge: its reader and test chosen once. */
interface ActiveRule {
  rule: StoredAlertRule;
  read: MetricReader;
  breaches: (value: number) => boolean;
  /** Instances it fires for now. */
  firing: number;
}

/** One (rule, instance) pair in a breach: kept only while the metric breaches or the alert fires. */
interface Breach {
  active: ActiveRule;
  /** Consecutive breaching samples. */
  count: number;
  /** When the first of them arrived. */
  since: number;
  value: number;
  firing: boolean;
}

/** The breaches of one instance, and when its last sample arrived (to forget an instance whose samples stopped). */
interface InstanceBreaches {
  instanceId: string;
  service: string;
  lastSampleAt: number;
  byRule: Map<string, Breach>;
}

/**
 * Judges every metrics sample against the enabled rules in its scope and reports each alert that
 * fires or clears. Rules are indexed by service (rules for every service, and per service), so a
 * sample costs one map lookup plus one comparison per rule in its scope; state exists only for the
 * (rule, instance) pairs that breach now or fire, so a fleet of 300,000 instances below every
 * threshold costs nothing here. Pure: no clock (times come from the samples and the callers), no I/O.
 */
export class RuleEvaluator {
  private readonly active = new Map<string, ActiveRule>();
  private everyService: ActiveRule[] = [];
  private byService = new Map<string, ActiveRule[]>();
  private readonly instances = new Map<string, InstanceBreaches>();

  constructor(private readonly report: (transition: AlertTransition) => void) {}

  /**
   * Takes the rules as they are now. A rule deleted, disabled, or changed in what it judges
   * (metric, comparison, threshold, duration, scope) clears its alerts and starts over from the
   * next sample; a rule only renamed or given another level keeps its state.
   */
  setRules(rules: readonly StoredAlertRule[], now: number): void {
    const next = new Map(rules.map((rule) => [rule.id, rule]));
    for (const [id, current] of this.active) {
      const rule = next.get(id);
      if (rule && rule.enabled && sameJudgement(current.rule, rule)) {
        current.rule = rule;
        continue;
      }
      this.active.delete(id);
      this.forgetRule(current, !rule ? 'rule deleted' : !rule.enabled ? 'rule disabled' : 'rule changed', now);
    }
    for (const rule of rules) {
      if (rule.enabled && !this.active.has(rule.id)) {
        this.active.set(rule.id, {
          rule,
          read: metricReader(rule.metric),
          breaches: breachTest(rule.comparison, rule.threshold),
          firing: 0,
        });
      }
    }
    this.everyService = [];
    this.byService = new Map();
    for (const active of this.active.values()) {
      const service = active.rule.service;
      if (service === null) this.everyService.push(active);
      else this.byService.set(service, [...(this.byService.get(service) ?? []), active]);
    }
  }

  /** Judges one sample against every enabled rule whose scope holds its instance. */
  sample(sample: MetricsSample): void {
    if (this.active.size === 0) return;
    const scoped = this.byService.get(sample.service);
    if (this.everyService.length === 0 && scoped === undefined) return;
    let state = this.instances.get(sample.instanceId);
    if (state) state.lastSampleAt = sample.metrics.sampledAt;
    state = this.judge(this.everyService, sample, state);
    if (scoped !== undefined) state = this.judge(scoped, sample, state);
    if (state && state.byRule.size === 0) this.instances.delete(sample.instanceId);
  }

  /** The instance is lost, offline or removed: its alerts clear and its breaches are forgotten. */
  instanceGone(instanceId: string, reason: 'instance lost' | 'instance offline' | 'instance removed', now: number): void {
    if (this.instances.size === 0) return;
    const state = this.instances.get(instanceId);
    if (!state) return;
    for (const breach of [...state.byRule.values()]) this.end(state, breach, reason, breach.value, now);
    this.instances.delete(instanceId);
  }

  /**
   * Forgets the instances whose last sample is older than `staleAfter(instanceId)` ms at `now`
   * (their beats stopped carrying metrics, or went to another replica), clearing their alerts.
   */
  sweep(now: number, staleAfter: (instanceId: string) => number): void {
    for (const [instanceId, state] of this.instances) {
      if (now - state.lastSampleAt <= staleAfter(instanceId)) continue;
      for (const breach of [...state.byRule.values()]) this.end(state, breach, 'no metrics', breach.value, now);
      this.instances.delete(instanceId);
    }
  }

  /** Instances the rule fires for now (0 for a disabled or unknown rule). */
  firing(ruleId: string): number {
    return this.active.get(ruleId)?.firing ?? 0;
  }

  /** Instances each enabled rule fires for now, for the rules that fire for any. */
  firingCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [id, active] of this.active) if (active.firing > 0) counts[id] = active.firing;
    return counts;
  }

  /** (rule, instance) pairs kept: breaching now or firing. */
  get breaches(): number {
    let count = 0;
    for (const state of this.instances.values()) count += state.byRule.size;
    return count;
  }

  /** One set of rules against a sample; answers the instance's state, created at its first breach. */
  private judge(rules: readonly ActiveRule[], sample: MetricsSample, state: InstanceBreaches | undefined): InstanceBreaches | undefined {
    const time = sample.metrics.sampledAt;
    for (const active of rules) {
      const value = active.read(sample.metrics);
      if (value === null) continue; // not sampled: neither a breach nor a recovery
      const breach = state?.byRule.get(active.rule.id);
      if (!active.breaches(value)) {
        if (breach) this.end(state!, breach, 'recovered', value, time);
        continue;
      }
      if (state === undefined) {
        state = { instanceId: sample.instanceId, service: sample.service, lastSampleAt: time, byRule: new Map() };
        this.instances.set(sample.instanceId, state);
      }
      if (breach === undefined) {
        const started: Breach = { active, count: 1, since: time, value, firing: false };
        state.byRule.set(active.rule.id, started);
        this.judgeDuration(state, started, time);
      } else {
        breach.count += 1;
        breach.value = value;
        if (!breach.firing) this.judgeDuration(state, breach, time);
      }
    }
    return state;
  }

  private judgeDuration(state: InstanceBreaches, breach: Breach, time: number): void {
    const { rule } = breach.active;
    const reached = rule.forBeats !== null ? breach.count >= rule.forBeats : time - breach.since >= (rule.forMs ?? 0);
    if (!reached) return;
    breach.firing = true;
    breach.active.firing += 1;
    this.report({ kind: 'fired', rule, instanceId: state.instanceId, service: state.service, value: breach.value, time });
  }

  /** Ends a breach: clears its alert if it fired. */
  private end(state: InstanceBreaches, breach: Breach, reason: ClearReason, value: number, time: number): void {
    state.byRule.delete(breach.active.rule.id);
    if (!breach.firing) return;
    breach.active.firing -= 1;
    const { instanceId, service } = state;
    this.report({ kind: 'cleared', rule: breach.active.rule, instanceId, service, value, time, reason });
  }

  private forgetRule(active: ActiveRule, reason: ClearReason, now: number): void {
    for (const [instanceId, state] of this.instances) {
      const breach = state.byRule.get(active.rule.id);
      if (breach) this.end(state, breach, reason, breach.value, now);
      if (state.byRule.size === 0) this.instances.delete(instanceId);
    }
  }
}

/** Whether two versions of a rule judge the same way (name, level and timestamps aside). */
function sameJudgement(a: StoredAlertRule, b: StoredAlertRule): boolean {
  return (
    a.metric === b.metric &&
    a.comparison === b.comparison &&
    a.threshold === b.threshold &&
    a.forBeats === b.forBeats &&
    a.forMs === b.forMs &&
    a.service === b.service
  );
}

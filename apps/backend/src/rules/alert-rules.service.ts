import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  Inject,
  Injectable,
  InternalServerErrorException,
  NotFoundException,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsService } from '../events/events.service.js';
import { MetricsFeed } from '../health/metrics-feed.js';
import { InstanceRegistry, type RegistryChange } from '../instances/instance-registry.js';
import { createLogger } from '../logger.js';
import { MAX_ALERT_RULES, type AlertRule, type AlertRuleSettings, type StoredAlertRule } from './alert-rule-schema.js';
import { ALERT_RULE_STORE, type AlertRuleStore } from './alert-rule-store.js';
import { alertEvent } from './rule-events.js';
import { RuleEvaluator } from './rule-evaluator.js';

/** How often breaches of instances whose metrics stopped coming are looked for. */
export const SWEEP_MS = 5_000;

/** A replica shares its firing counts when they change, and at least this often (a sign of life: FIRING_STALE_MS). */
const FIRING_REFRESH_MS = 10_000;

/**
 * An instance whose samples stopped for this many of its lost-after periods, while it is not lost
 * (its beats carry no metrics any more, or go to another replica), has its alerts cleared.
 */
const STALE_LOST_AFTERS = 2;

/**
 * Alert rules: settings (saved to the data dir, or Redis) and their evaluation on every metrics
 * sample this backend receives. A change is applied only once it is saved, so what the API shows
 * is what a restart brings back.
 */
@Injectable()
export class AlertRulesService implements OnModuleInit, OnModuleDestroy {
  private rules = new Map<string, StoredAlertRule>();
  private readonly evaluator: RuleEvaluator;
  private readonly log: Logger;
  private unsubscribe: Array<() => void> = [];
  /** Set while some rule is enabled: with none, the beat path builds no sample for us. */
  private unsubscribeFeed: (() => void) | null = null;
  /** The firing counts last shared (shared stores), and when. */
  private shared = { json: '', at: 0 };
  /** Changes run one after another, so two saves never race to write different lists. */
  private lastChange: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(ALERT_RULE_STORE) private readonly store: AlertRuleStore,
    @Inject(MetricsFeed) private readonly feed: Pick<MetricsFeed, 'subscribe'>,
    @Inject(InstanceRegistry) private readonly registry: Pick<InstanceRegistry, 'onChange' | 'lostAfter'>,
    @Inject(EventsService) events: Pick<EventsService, 'record'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.log = createLogger(config.logLevel).child({ component: 'alert-rules' });
    this.evaluator = new RuleEvaluator((transition) => events.record(alertEvent(transition)));
  }

  async onModuleInit(): Promise<void> {
    const { rules, problem } = await this.store.load();
    if (problem) this.log.error({ path: this.store.path }, problem);
    this.apply(rules);
    this.unsubscribe.push(this.registry.onChange((change) => this.instanceChanged(change)));
    if (this.store.watch) this.unsubscribe.push(this.store.watch((saved) => void this.change(async () => this.apply(saved))));
    if (rules.length > 0) this.log.info({ path: this.store.path, rules: rules.length }, 'alert rules loaded');
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribeFeed?.();
    void this.store.close?.();
  }

  async list(): Promise<AlertRule[]> {
    const others = await this.othersFiring();
    return [...this.rules.values()].map((rule) => this.view(rule, others));
  }

  async get(id: string): Promise<AlertRule> {
    const rule = this.known(id);
    return this.view(rule, await this.othersFiring());
  }

  async create(settings: AlertRuleSettings): Promise<AlertRule> {
    return this.change(async () => {
      if (this.rules.size >= MAX_ALERT_RULES) {
        throw new BadRequestException({ error: 'too many alert rules', issues: [`(body): at most ${MAX_ALERT_RULES} alert rules`] });
      }
      const now = this.clock.now();
      const rule: StoredAlertRule = { id: randomUUID(), ...settings, createdAt: now, updatedAt: now };
      await this.save([...this.rules.values(), rule]);
      return this.view(rule, null);
    });
  }

  /** Replaces every setting of a rule (docs/alert-rules.md says what a change does to its alerts). */
  async update(id: string, settings: AlertRuleSettings): Promise<AlertRule> {
    return this.change(async () => {
      const current = this.known(id);
      const rule: StoredAlertRule = { id, ...settings, createdAt: current.createdAt, updatedAt: this.clock.now() };
      await this.save([...this.rules.values()].map((r) => (r.id === id ? rule : r)));
      return this.view(rule, await this.othersFiring());
    });
  }

  async remove(id: string): Promise<void> {
    await this.change(async () => {
      this.known(id);
      await this.save([...this.rules.values()].filter((r) => r.id !== id));
    });
  }

  /**
   * Clears the alerts of instances whose samples stopped coming, and (shared stores) tells the
   * other replicas how many instances each rule fires for here. Scheduled; tests call it directly.
   */
  @Interval(SWEEP_MS)
  sweep(): Promise<void> {
    const now = this.clock.now();
    this.evaluator.sweep(now, (instanceId) => STALE_LOST_AFTERS * this.registry.lostAfter(instanceId));
    return this.shareFiring(now);
  }

  /** (rule, instance) pairs in a breach or firing now: the evaluator's whole state. */
  get breaches(): number {
    return this.evaluator.breaches;
  }

  /** Called for every change of the registry, beats included: cheap unless the instance just left. */
  private instanceChanged(change: RegistryChange): void {
    if (change.type === 'removed') this.evaluator.instanceGone(change.instanceId, 'instance removed', this.clock.now());
    else if (change.type === 'upsert' && change.instance.status === 'lost') {
      this.evaluator.instanceGone(change.instance.instanceId, 'instance lost', this.clock.now());
    } else if (change.type === 'upsert' && change.instance.status === 'offline') {
      this.evaluator.instanceGone(change.instance.instanceId, 'instance offline', this.clock.now());
    }
  }

  /** Saves the rules, then applies them (a failed save changes nothing and answers 500). */
  private async save(rules: StoredAlertRule[]): Promise<void> {
    try {
      await this.store.save(rules);
    } catch (error) {
      const reason = (error as Error).message;
      this.log.error({ path: this.store.path, reason }, 'cannot save alert rules: the change was not applied');
      throw new InternalServerErrorException({ error: 'cannot save alert rules', path: this.store.path, reason });
    }
    this.apply(rules);
  }

  private apply(rules: StoredAlertRule[]): void {
    this.rules = new Map(rules.map((rule) => [rule.id, rule]));
    this.evaluator.setRules(rules, this.clock.now());
    const judging = rules.some((rule) => rule.enabled);
    if (judging && !this.unsubscribeFeed) this.unsubscribeFeed = this.feed.subscribe((sample) => this.evaluator.sample(sample));
    if (!judging && this.unsubscribeFeed) {
      this.unsubscribeFeed();
      this.unsubscribeFeed = null;
    }
  }

  private known(id: string): StoredAlertRule {
    const rule = this.rules.get(id);
    if (!rule) throw new NotFoundException({ error: 'unknown alert rule', issues: [`id: no alert rule ${id}`] });
    return rule;
  }

  /** `firing`: this replica's live count, plus the other replicas' last shared ones. */
  private view(rule: StoredAlertRule, others: Map<string, number> | null): AlertRule {
    return { ...rule, firing: this.evaluator.firing(rule.id) + (others?.get(rule.id) ?? 0) };
  }

  private async shareFiring(now: number): Promise<void> {
    if (!this.store.shareFiring) return;
    const counts = this.evaluator.firingCounts();
    const json = JSON.stringify(counts);
    // Unchanged: refreshed now and then while something fires (an empty entry needs no sign of life).
    if (json === this.shared.json && (json === '{}' || now - this.shared.at < FIRING_REFRESH_MS)) return;
    try {
      await this.store.shareFiring(counts, now);
      this.shared = { json, at: now };
    } catch {
      // Redis away: the next sweep tries again (the fleet store's log reports the outage).
    }
  }

  /** The other replicas' firing counts; null without a shared store, or while Redis does not answer. */
  private async othersFiring(): Promise<Map<string, number> | null> {
    if (!this.store.othersFiring) return null;
    try {
      return await this.store.othersFiring(this.clock.now());
    } catch {
      return null;
    }
  }

  private change<T>(apply: () => Promise<T>): Promise<T> {
    const result = this.lastChange.then(apply);
    this.lastChange = result.catch(() => undefined);
    return result;
  }
}

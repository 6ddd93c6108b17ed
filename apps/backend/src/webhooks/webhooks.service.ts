import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BadRequestException,
  Inject,
  Injectable,
  InternalServerErrorException,
  NotFoundException,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { EventRecord, WebhookTestOutcome } from '@vigil/protocol';
import type { Logger } from 'pino';
import { CLOCK, type Clock } from '../common/clock.js';
import { VIGIL_CONFIG, type VigilConfig } from '../config/vigil-config.js';
import { EventsService } from '../events/events.service.js';
import { createLogger } from '../logger.js';
import { targetProblem } from './url-safety.js';
import { WebhookChannel, type DeliveryStats } from './webhook-channel.js';
import { MAX_WEBHOOKS, type StoredWebhook, type WebhookInput } from './webhook-schema.js';
import { WebhookSender } from './webhook-sender.js';
import { WebhookStore, type WebhookSettingsStore } from './webhook-store.js';

export interface WebhookView extends StoredWebhook {
  delivery: DeliveryStats;
}

export type TestOutcome = WebhookTestOutcome;

/**
 * Webhook settings (saved to the data dir) and delivery: every recorded event is offered to
 * each webhook's queue. A change is applied only once it is saved, so what the API shows is
 * what a restart brings back.
 */
@Injectable()
export class WebhooksService implements OnModuleInit, OnModuleDestroy {
  private readonly channels = new Map<string, WebhookChannel>();
  private readonly stopping = new AbortController();
  private readonly log: Logger;
  private readonly allowPrivate: boolean;
  private unsubscribe: Array<() => void> = [];
  /** Changes run one after another, so two saves never race to write different lists. */
  private lastChange: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(EventsService) private readonly events: Pick<EventsService, 'onEvent'>,
    @Inject(WebhookStore) private readonly store: WebhookSettingsStore,
    @Inject(WebhookSender) private readonly sender: Pick<WebhookSender, 'post'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(VIGIL_CONFIG) config: VigilConfig,
  ) {
    this.log = createLogger(config.logLevel).child({ component: 'webhooks' });
    this.allowPrivate = config.webhookAllowPrivate;
  }

  async onModuleInit(): Promise<void> {
    const { webhooks, problem } = await this.store.load();
    if (problem) this.log.error({ path: this.store.path }, problem);
    for (const webhook of webhooks) this.channels.set(webhook.id, this.channel(webhook));
    this.unsubscribe.push(this.events.onEvent((event) => this.dispatch(event)));
    if (this.store.watch) this.unsubscribe.push(this.store.watch((webhooks) => this.applySaved(webhooks)));
    if (webhooks.length > 0) this.log.info({ path: this.store.path, webhooks: webhooks.length }, 'webhook settings loaded');
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.stopping.abort();
    for (const channel of this.channels.values()) channel.close();
    void this.store.close?.();
  }

  list(): WebhookView[] {
    return [...this.channels.values()].map(view);
  }

  async create(input: WebhookInput): Promise<WebhookView> {
    await this.checkTarget(input.url);
    return this.change(async () => {
      if (this.channels.size >= MAX_WEBHOOKS) {
        throw new BadRequestException({ error: 'too many webhooks', issues: [`(body): at most ${MAX_WEBHOOKS} webhooks`] });
      }
      const now = this.clock.now();
      const webhook: StoredWebhook = { id: randomUUID(), ...input, createdAt: now, updatedAt: now };
      await this.save([...this.settings(), webhook]);
      const channel = this.channel(webhook);
      this.channels.set(webhook.id, channel);
      return view(channel);
    });
  }

  /** Replaces every setting of a webhook; its counts and queue carry on. */
  async update(id: string, input: WebhookInput): Promise<WebhookView> {
    // An unchanged URL was checked when it was saved: a DNS hiccup must not block renaming or disabling.
    if (input.url !== this.get(id).settings.url) await this.checkTarget(input.url);
    return this.change(async () => {
      const channel = this.get(id);
      const updated: StoredWebhook = { id, ...input, createdAt: channel.settings.createdAt, updatedAt: this.clock.now() };
      await this.save(this.settings().map((w) => (w.id === id ? updated : w)));
      channel.update(updated);
      return view(channel);
    });
  }

  async remove(id: string): Promise<void> {
    await this.change(async () => {
      const channel = this.get(id);
      await this.save(this.settings().filter((w) => w.id !== id));
      channel.close();
      this.channels.delete(id);
    });
  }

  /**
   * Sends a test message now, whatever the webhook's level, filter or `enabled`, once and
   * without retries, so the answer comes within one timeout. It is not counted.
   */
  async test(id: string): Promise<TestOutcome> {
    const channel = this.get(id);
    const event: EventRecord = {
      id: 'test',
      time: this.clock.now(),
      level: 'normal',
      type: 'webhook.test',
      origin: 'backend',
      message: `test message for webhook "${channel.settings.name}": if you can read this, it works`,
      attributes: {},
    };
    const { ok, status, error, durationMs } = await channel.attempt(event);
    return { ok, durationMs, ...(status !== undefined && { status }), ...(error && { error }) };
  }

  /** Settings another replica saved: the channels follow (a kept webhook's counts and queue carry on). */
  private applySaved(webhooks: StoredWebhook[]): void {
    void this.change(async () => {
      const next = new Map(webhooks.map((webhook) => [webhook.id, webhook]));
      for (const [id, channel] of this.channels) {
        if (next.has(id)) continue;
        channel.close();
        this.channels.delete(id);
      }
      for (const webhook of webhooks) {
        const channel = this.channels.get(webhook.id);
        if (!channel) this.channels.set(webhook.id, this.channel(webhook));
        else if (JSON.stringify(channel.settings) !== JSON.stringify(webhook)) channel.update(webhook);
      }
    });
  }

  /** Called for every recorded event, inside the event path: queues only, never throws. */
  private dispatch(event: EventRecord): void {
    for (const channel of this.channels.values()) {
      try {
        channel.offer(event);
      } catch (error) {
        this.log.error({ err: error, webhook: channel.settings.id }, 'cannot queue an event for a webhook');
      }
    }
  }

  private channel(webhook: StoredWebhook): WebhookChannel {
    return new WebhookChannel(webhook, {
      sender: this.sender,
      clock: this.clock,
      log: this.log,
      sleep: (ms) => sleep(ms, undefined, { signal: this.stopping.signal }),
      stopping: this.stopping.signal,
    });
  }

  private get(id: string): WebhookChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new NotFoundException({ error: 'unknown webhook', issues: [`id: no webhook ${id}`] });
    return channel;
  }

  private settings(): StoredWebhook[] {
    return [...this.channels.values()].map((c) => c.settings);
  }

  private async checkTarget(url: string): Promise<void> {
    const problem = await targetProblem(url, this.allowPrivate);
    if (problem) throw new BadRequestException({ error: 'invalid webhook', issues: [`url: ${problem}`] });
  }

  private async save(webhooks: StoredWebhook[]): Promise<void> {
    try {
      await this.store.save(webhooks);
    } catch (error) {
      const reason = (error as Error).message;
      this.log.error({ path: this.store.path, reason }, 'cannot save webhook settings: the change was not applied');
      throw new InternalServerErrorException({ error: 'cannot save webhook settings', path: this.store.path, reason });
    }
  }

  private change<T>(apply: () => Promise<T>): Promise<T> {
    const result = this.lastChange.then(apply);
    this.lastChange = result.catch(() => undefined);
    return result;
  }
}

function view(channel: WebhookChannel): WebhookView {
  return { ...channel.settings, delivery: channel.stats() };
}

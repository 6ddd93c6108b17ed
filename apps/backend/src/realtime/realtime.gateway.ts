import { Inject, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import {
  WebSocketGateway,
  WebSocketServer,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
} from '@nestjs/websockets';
import {
  describeIssues,
  viewRequestSchema,
  type ClientToServerEvents,
  type Delta,
  type ServerToClientEvents,
  type SubscribeReply,
} from '@vigil/protocol';
import type { Server, Socket } from 'socket.io';
import { AccessHooks } from '../access/access.hooks.js';
import { CLOCK, type Clock } from '../common/clock.js';
import { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { LEASE_TICK_MS } from '../instances/registry.module.js';
import { DeltaBatcher } from './delta-batcher.js';
import { FleetSummary } from './fleet-summary.js';
import { ViewGroups, type ViewGroup } from './view-groups.js';

/** How often batched changes are pushed to dashboards when no status changed (beat times only). */
export const DELTA_FLUSH_MS = 200;

/**
 * Least time between a push and one brought forward by a status change: one lease tick, so the
 * transitions of a tick (a mass expiry) go out together and a storm of registrations costs at
 * most one push per tick.
 */
export const STATUS_FLUSH_MS = LEASE_TICK_MS;

/** Least time between two re-queries of one dashboard window. */
export const WINDOW_REFRESH_MS = 1_000;

/** Every subscribed socket: fleet-wide changes (counts, events) go to all of them. */
const SUBSCRIBED_ROOM = 'subscribed';

interface SocketData {
  group: ViewGroup | null;
}

type DashboardServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type DashboardSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * Pushes what each dashboard shows, never the whole fleet: a dashboard subscribes with its view
 * (a window of the instance list, ids it watches) and gets a snapshot as the acknowledgement,
 * then deltas every 200 ms for that view plus the fleet-wide counts and events. A status change
 * (an instance appearing, going suspect, lost, offline, recovering, removed) does not wait for
 * the period: it goes out on the next lease tick, so a dashboard sees a loss within the
 * detection goal rather than up to 200 ms later. It only relays what the registry and the
 * event log report.
 */
@WebSocketGateway({ serveClient: false })
export class RealtimeGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() private server!: DashboardServer;
  private batcher!: DeltaBatcher;
  private summary!: FleetSummary;
  private views!: ViewGroups;
  private unsubscribe: Array<() => void> = [];
  /** performance.now() of the last push. */
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  /** A push brought forward by a status change, pending. */
  private early: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly events: EventsService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly access: AccessHooks,
  ) {}

  afterInit(server: DashboardServer): void {
    // Dashboards are held to the same rules as the REST API (protected mode, login, API token).
    this.access.guardSocketServer(server);
  }

  onModuleInit(): void {
    const known = this.registry.list();
    this.batcher = new DeltaBatcher(known);
    this.summary = new FleetSummary(known);
    this.views = new ViewGroups(this.registry, { refreshMinMs: WINDOW_REFRESH_MS, measure: () => performance.now() });
    this.unsubscribe = [
      this.registry.onChange((change) => {
        if (change.type === 'beat' && !this.views.wantsBeat(change.instanceId)) return;
        const step = this.batcher.add(change);
        if (!step) return;
        this.summary.apply(step.before, step.after);
        if (step.before?.status !== step.after?.status) this.flushSoon();
      }),
      this.events.onEvent((event) => this.batcher.addEvent(event), { remote: true }),
    ];
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    clearTimeout(this.early);
  }

  handleConnection(socket: DashboardSocket): void {
    socket.data.group = null;
    socket.on('subscribe', (view: unknown, ack: unknown) => {
      // The event map types the arguments, but they come off the network: check both.
      if (typeof ack === 'function') (ack as (reply: SubscribeReply) => void)(this.subscribe(socket, view));
    });
  }

  handleDisconnect(socket: DashboardSocket): void {
    if (socket.data.group) this.views.leave(socket.data.group);
    socket.data.group = null;
  }

  /** Moves the socket to the group of its new view and answers with the snapshot the view starts from. */
  private subscribe(socket: DashboardSocket, view: unknown): SubscribeReply {
    const parsed = viewRequestSchema.safeParse(view);
    if (!parsed.success) return { ok: false, error: 'invalid view', issues: describeIssues(parsed.error) };
    const previous = socket.data.group;
    if (previous) {
      this.views.leave(previous);
      void socket.leave(previous.room);
    }
    const now = this.clock.now();
    // A watched instance (the detail view) gets a metrics sample per beat from now on, for its charts.
    this.registry.followMetrics(parsed.data.watch);
    const { group, window, watched } = this.views.join(parsed.data, now);
    socket.data.group = group;
    if (group) void socket.join(group.room);
    void socket.join(SUBSCRIBED_ROOM);
    return {
      ok: true,
      snapshot: {
        window,
        watched,
        counts: this.summary.counts(),
        services: this.summary.serviceSummaries(),
        plugins: this.summary.pluginUsage(),
        serverTime: now,
      },
    };
  }

  /** Brings the next push forward to one lease tick after the previous push at the latest. */
  private flushSoon(): void {
    if (this.early) return;
    const wait = Math.max(0, this.lastFlushAt + STATUS_FLUSH_MS - performance.now());
    this.early = setTimeout(() => this.flush(false), wait);
  }

  /**
   * Pushes what changed. The events ride the periodic push only (`withEvents`): a mass
   * transition brings pushes forward every tick, and carrying up to 200 events in each, encoded
   * once per view group, would cost the backend more than the status changes themselves
   * (bench:expiry); dashboards get the statuses at once and the events within 200 ms.
   */
  @Interval(DELTA_FLUSH_MS)
  flush(withEvents = true): void {
    clearTimeout(this.early);
    this.early = undefined;
    this.lastFlushAt = performance.now();
    const now = this.clock.now();
    const batch = this.batcher.take(withEvents);
    const shared = { ...this.summary.takeChanges(), events: batch?.events ?? [], serverTime: now };
    const viewDeltas = this.views.flush(batch, now);
    // One encoding per room: members of a group share their delta.
    for (const [group, viewDelta] of viewDeltas) {
      this.server.to(group.room).emit('delta', { ...viewDelta, ...shared } satisfies Delta);
    }
    if (shared.counts || shared.services || shared.plugins || shared.events.length > 0) {
      const rest = [...viewDeltas.keys()].map((group) => group.room);
      this.server
        .to(SUBSCRIBED_ROOM)
        .except(rest)
        .emit('delta', { upserts: [], removed: [], beats: {}, ...shared } satisfies Delta);
    }
  }
}

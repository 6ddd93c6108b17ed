import { Inject, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection } from '@nestjs/websockets';
import type { ClientToServerEvents, ServerToClientEvents } from '@vigil/protocol';
import type { Server, Socket } from 'socket.io';
import { CLOCK, type Clock } from '../common/clock.js';
import { EventsService } from '../events/events.service.js';
import { InstanceRegistry } from '../instances/instance-registry.js';
import { DeltaBatcher } from './delta-batcher.js';

/** How often batched changes are pushed to dashboards. */
export const DELTA_FLUSH_MS = 200;

type DashboardServer = Server<ClientToServerEvents, ServerToClientEvents>;

/**
 * Pushes the instance set to dashboards: a snapshot when a socket connects (and so after every
 * reconnect), then batched deltas. It only relays what the registry reports.
 */
@WebSocketGateway({ serveClient: false })
export class RealtimeGateway implements OnGatewayConnection, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() private server!: DashboardServer;
  private readonly batcher = new DeltaBatcher();
  private unsubscribe: Array<() => void> = [];

  constructor(
    @Inject(InstanceRegistry) private readonly registry: InstanceRegistry,
    @Inject(EventsService) private readonly events: EventsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = [
      this.registry.onChange((change) => this.batcher.add(change)),
      this.events.onEvent((event) => this.batcher.addEvent(event)),
    ];
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  handleConnection(socket: Socket<ClientToServerEvents, ServerToClientEvents>): void {
    socket.emit('snapshot', { instances: this.registry.list(), serverTime: this.clock.now() });
  }

  @Interval(DELTA_FLUSH_MS)
  flush(): void {
    const delta = this.batcher.take(this.clock.now());
    if (delta) this.server.emit('delta', delta);
  }
}

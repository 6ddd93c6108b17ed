import type { BeatMetrics, Instance, InstanceStatus, PluginCommand } from '@vigil/protocol';
import type { EventsService } from '../events/events.service.js';
import type { InstanceRegistry } from '../instances/instance-registry.js';
import type { PluginCommandQueue } from '../instances/plugin-commands.js';
import { decodeEvent, decodeEventList, readClaimChanges, readSyncBatch, type FleetChangeHandler } from './redis-codec.js';

/**
 * This replica's registry, command queue and event log as a mirror of the fleet in Redis: the
 * one way what Redis or another replica decided gets into them. While it applies, `applying`
 * is set (by the caller, around a whole claim reply or feed read), so the write-through does not
 * write those changes back as this replica's own.
 */
export class FleetMirror implements FleetChangeHandler {
  /** Set while applying what Redis or another replica decided. */
  applying = false;

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly commandQueue: PluginCommandQueue,
    private readonly events: EventsService,
  ) {}

  /** Another replica's sync batch (a `feed` entry). */
  applySyncBatch(json: string): void {
    readSyncBatch(json, this);
  }

  /** What a claim decided (this replica's claim reply, or another's `feed` entry). */
  applyClaim(changesJson: string): void {
    readClaimChanges(changesJson, this);
  }

  /** Events this replica's claim logged: this replica's own (it delivers them to webhooks). */
  recordClaimEvents(eventsJson: string): void {
    for (const json of decodeEventList(eventsJson)) this.events.record(decodeEvent(json));
  }

  /** An event another replica recorded. */
  recordRemoteEvent(json: string): void {
    this.events.recordRemote(decodeEvent(json));
  }

  upsert(instance: Instance): void {
    this.registry.applyRemoteUpsert(instance);
  }

  beat(instanceId: string, lastBeat: number, metrics?: BeatMetrics): void {
    this.registry.applyRemoteBeat(instanceId, lastBeat, metrics);
  }

  remove(instanceId: string): void {
    this.registry.applyRemoteRemove(instanceId);
  }

  commands(instanceId: string, queue: PluginCommand[] | undefined): void {
    this.commandQueue.replace(instanceId, queue);
  }

  transition(instanceId: string, status: InstanceStatus, since: number, leaseEnd: number, held: boolean): void {
    this.registry.applyRemoteTransition(instanceId, status, since, leaseEnd, held);
  }
}

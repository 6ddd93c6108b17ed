import {
  eventListSchema,
  eventRecordSchema,
  instanceSchema,
  metricsHistorySchema,
  type EventRecord,
  type Instance,
  type MetricsSample,
} from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';
import { parseCommands, type PluginCommandState } from '../plugin-commands/commands-api';

/** `GET /api/v1/instances/:id`. */
export interface InstanceDetail {
  instance: Instance;
  /** Backend arrival times of the last beats, oldest first. */
  beatArrivals: number[];
  /** The instance's newest events, newest first. */
  events: EventRecord[];
}

const parseInstance = withSchema(instanceSchema);
const parseEvents = withSchema(eventRecordSchema.array());

function parseDetail(body: unknown): InstanceDetail {
  if (typeof body !== 'object' || body === null) throw new Error('(body): expected an object');
  const { instance, beatArrivals, events } = body as Record<string, unknown>;
  if (!Array.isArray(beatArrivals) || !beatArrivals.every((t) => Number.isSafeInteger(t)))
    throw new Error('beatArrivals: expected epoch ms');
  return { instance: parseInstance(instance), beatArrivals: beatArrivals as number[], events: parseEvents(events) };
}

const path = (id: string) => `/api/v1/instances/${encodeURIComponent(id)}`;

export function fetchInstanceDetail(id: string, signal: AbortSignal): Promise<InstanceDetail> {
  return requestJson(path(id), parseDetail, { signal });
}

/** The instance's plugin events (commands sent, disabled, enabled, failed), newest first. */
export async function fetchPluginEvents(id: string, signal: AbortSignal): Promise<EventRecord[]> {
  const params = new URLSearchParams({ instanceId: id, type: 'plugin.', limit: '200' });
  return (await requestJson(`/api/v1/events?${params}`, withSchema(eventListSchema), { signal })).events;
}

/** `GET /api/v1/instances/:id/metrics`: the instance's metrics history, oldest first. */
export async function fetchMetricsHistory(id: string, signal: AbortSignal): Promise<MetricsSample[]> {
  return (await requestJson(`${path(id)}/metrics`, withSchema(metricsHistorySchema), { signal })).samples;
}

export type PluginAction = 'disable' | 'enable';

/** The one command an instance's command answer holds. */
function parseCommandReply(body: unknown): PluginCommandState {
  const [command] = parseCommands(body);
  if (!command) throw new Error('commands: expected the command sent');
  return command;
}

/** Queues a plugin command; the agent gets it in the reply to its next beat. */
export function sendPluginCommand(id: string, plugin: string, action: PluginAction): Promise<PluginCommandState> {
  return requestJson(`${path(id)}/plugins/${encodeURIComponent(plugin)}/${action}`, parseCommandReply, { method: 'POST' });
}

import type { OpenAPIObject } from '@nestjs/swagger';
import {
  AUTH_PATH,
  EVENTS_PATH,
  HEARTBEAT_PATH,
  INSTANCES_PATH,
  beatReplySchema,
  eventBatchSchema,
  eventListSchema,
  heartbeatSchema,
  instanceListSchema,
  instanceSchema,
  loginRequestSchema,
  pluginCommandSchema,
  sessionStateSchema,
} from '@vigil/protocol';
import { z } from 'zod';
import { instanceQuerySchema } from '../instances/instance-query.js';

/** JSON Schema of a zod schema, as OpenAPI 3.1 takes it. */
const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: object) => ({ content: { 'application/json': { schema: s } } });
const problem = { description: 'Invalid input: `{ error, issues: ["field: message"] }`, each issue naming the field' };
const agentRefusals = {
  '401': { description: 'Agent tokens are configured and this request has none, or an unknown one' },
  '403': { description: 'Protected mode (no agent tokens, not from loopback), or a service outside the token\'s prefix' },
};

/** Query parameters of a zod object of string fields. */
function queryParameters(object: z.ZodObject): object[] {
  return Object.entries(object.shape).map(([name, field]) => ({
    name,
    in: 'query',
    required: false,
    schema: { type: 'string' },
    description: (field as z.ZodType).description,
  }));
}

/**
 * The OpenAPI document of the REST API, built from the same zod schemas that validate the
 * requests, so it cannot drift from what the server accepts.
 */
export function openApiDocument(version: string): OpenAPIObject {
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
  const plugin = { name: 'plugin', in: 'path', required: true, schema: { type: 'string' } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Vigil backend',
      version,
      description: 'Heartbeats, instances, events and plugin control. The Nacos v1 API is described in docs/nacos.md.',
    },
    paths: {
      [HEARTBEAT_PATH]: {
        put: {
          summary: 'Send a heartbeat (full, light or goodbye)',
          requestBody: { required: true, ...json(ref('Heartbeat')) },
          security: [{ agentToken: [] }],
          responses: {
            '200': { description: 'Applied', ...json(ref('BeatReply')) },
            '400': problem,
            ...agentRefusals,
            '413': { description: 'Body over 256 KiB' },
            '429': { description: 'This instance beats far faster than its interval: `{ error, message, interval }`, beat at `interval`' },
          },
        },
      },
      [INSTANCES_PATH]: {
        get: {
          summary: 'Instances, filtered, sorted and paged on the server',
          parameters: queryParameters(instanceQuerySchema),
          responses: { '200': { description: 'A page of instances and the total', ...json(ref('InstanceList')) }, '400': problem },
        },
      },
      [`${INSTANCES_PATH}/counts`]: {
        get: { summary: 'Counts of apps, services and instances by status', responses: { '200': { description: 'Counts' } } },
      },
      [`${INSTANCES_PATH}/{id}`]: {
        get: {
          summary: 'One instance with its recent beat arrival times and events',
          parameters: [id],
          responses: { '200': { description: '`{ instance, beatArrivals, events }`' }, '404': { description: 'Unknown instance' } },
        },
      },
      [`${INSTANCES_PATH}/{id}/plugins/{plugin}/disable`]: {
        post: {
          summary: 'Disable a plugin on an instance (delivered in the reply to its next beat)',
          parameters: [id, plugin],
          responses: { '202': { description: '`{ command }`', ...json({ type: 'object', properties: { command: ref('PluginCommand') } }) }, '404': { description: 'Unknown instance or plugin' } },
        },
      },
      [`${INSTANCES_PATH}/{id}/plugins/{plugin}/enable`]: {
        post: {
          summary: 'Enable a plugin on an instance again',
          parameters: [id, plugin],
          responses: { '202': { description: '`{ command }`' }, '404': { description: 'Unknown instance or plugin' } },
        },
      },
      [EVENTS_PATH]: {
        get: {
          summary: 'Events, newest first',
          parameters: ['service', 'instanceId', 'type', 'level', 'origin', 'from', 'to', 'offset', 'limit'].map((name) => ({
            name,
            in: 'query',
            schema: { type: 'string' },
          })),
          responses: { '200': { description: 'A page of events and the total', ...json(ref('EventList')) }, '400': problem },
        },
        post: {
          summary: "A batch of an agent's events",
          requestBody: { required: true, ...json(ref('EventBatch')) },
          security: [{ agentToken: [] }],
          responses: { '202': { description: '`{ accepted }`' }, '400': problem, ...agentRefusals },
        },
      },
      [`${EVENTS_PATH}/counts`]: {
        get: { summary: 'Event counts by level since `from` (default: 24 h)', responses: { '200': { description: 'Counts' } } },
      },
      [`${AUTH_PATH}/session`]: {
        get: {
          summary: 'Whether the dashboard must show its login page',
          security: [],
          responses: { '200': { description: 'Session state', ...json(ref('SessionState')) } },
        },
      },
      [`${AUTH_PATH}/login`]: {
        post: {
          summary: 'Log in with the admin password; sets the vigil_session cookie',
          security: [],
          requestBody: { required: true, ...json(schema(loginRequestSchema)) },
          responses: {
            '200': { description: 'Logged in' },
            '400': problem,
            '401': { description: 'Wrong password' },
            '403': { description: 'Cross-site request' },
            '404': { description: 'No admin password configured' },
            '429': { description: 'Too many failed logins from this address' },
          },
        },
      },
      [`${AUTH_PATH}/logout`]: { post: { summary: 'End the session', security: [], responses: { '204': { description: 'Logged out' } } } },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: '`{ status: "ok" }`' } } } },
      '/readyz': { get: { summary: 'Readiness', security: [], responses: { '200': { description: '`{ status: "ready", ... }`' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Prometheus text format' } } } },
    },
    components: {
      schemas: {
        Heartbeat: schema(heartbeatSchema),
        BeatReply: schema(beatReplySchema),
        Instance: schema(instanceSchema),
        InstanceList: schema(instanceListSchema),
        PluginCommand: schema(pluginCommandSchema),
        EventBatch: schema(eventBatchSchema),
        EventList: schema(eventListSchema),
        SessionState: schema(sessionStateSchema),
      },
      // Without credentials configured, none is needed from loopback (protected mode, SECURITY.md).
      securitySchemes: {
        apiToken: { type: 'http', scheme: 'bearer', description: 'One of VIGIL_API_TOKENS' },
        session: { type: 'apiKey', in: 'cookie', name: 'vigil_session', description: 'Set by POST /api/v1/auth/login' },
        agentToken: { type: 'http', scheme: 'bearer', description: 'One of VIGIL_AGENT_TOKENS (agent.token)' },
      },
    },
    security: [{ apiToken: [] }, { session: [] }],
  } as OpenAPIObject;
}

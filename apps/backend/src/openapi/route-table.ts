import { HEARTBEAT_PATH, HEARTBEAT_SOCKET_PATH, beatReplySchema, heartbeatSchema } from '@vigil/protocol';
import { NACOS_LOGIN_PATHS, NACOS_NAMING_PATH } from '../nacos/nacos.routes.js';
import { AGENT_REFUSALS, INVALID, jsonSchema, type JsonSchema } from './zod-api.js';

/**
 * The routes that are not Nest controller methods, so that no decorator can describe them: the
 * beat PUT (a raw Fastify route, and served before Fastify: heartbeats/heartbeat.route.ts), the
 * Nacos v1 API (raw Fastify routes: nacos/nacos.routes.ts), and two WebSocket endpoints that
 * node's `upgrade` event serves beside Fastify (the beat socket, socket.io). The document takes
 * them from here; the drift test (openapi.test.ts) checks each against the running server.
 */

/** Who answers the route: Fastify's router, or a listener on node's server beside it. */
export type Transport = 'fastify' | 'beat-socket' | 'socket.io';

export interface TableRoute {
  method: 'get' | 'put' | 'post' | 'delete';
  path: string;
  transport: Transport;
  operation: Record<string, unknown>;
}

const json = (schema: JsonSchema) => ({ content: { 'application/json': { schema } } });
const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
const nacosFailure = {
  description: "Nacos's text error, `caused: <message>;` (400 bad parameters, 403 token refused, 404 unknown instance)",
};

/** Nacos parameters, from the query string or an `application/x-www-form-urlencoded` body. */
function nacosParams(names: Record<string, string>, required: string[] = []): object[] {
  return Object.entries(names).map(([name, description]) => ({
    name,
    in: 'query',
    required: required.includes(name),
    description,
    schema: { type: 'string' },
  }));
}
const SERVICE = {
  serviceName: 'The service (`group@@service` accepted)',
  groupName: 'Its group (DEFAULT_GROUP)',
  namespaceId: 'Its namespace (public)',
};
const ADDRESS = { ...SERVICE, ip: 'The instance address', port: 'Its port', clusterName: 'Its cluster (DEFAULT)' };
const TOKEN = { accessToken: 'An agent token, when VIGIL_AGENT_TOKENS are configured (or a bearer header)' };
const nacos = (summary: string, parameters: object[], ok: object) => ({
  summary,
  tags: ['Nacos'],
  security: [{ agentToken: [] }],
  parameters: [...parameters, ...nacosParams(TOKEN)],
  responses: { '200': ok, '4XX': nacosFailure },
});

export const ROUTE_TABLE: readonly TableRoute[] = [
  {
    method: 'put',
    path: HEARTBEAT_PATH,
    transport: 'fastify',
    operation: {
      summary: 'Send a heartbeat (full, light or goodbye)',
      description: "Served before Fastify's pipeline for `application/json` bodies, by Fastify otherwise, with the same answers.",
      tags: ['Heartbeats'],
      security: [{ agentToken: [] }],
      requestBody: { required: true, ...json({ $ref: '#/components/schemas/Heartbeat' }) },
      responses: {
        '200': { description: 'Applied', ...json({ $ref: '#/components/schemas/BeatReply' }) },
        '400': { description: INVALID },
        '401': { description: AGENT_REFUSALS[401] },
        '403': { description: AGENT_REFUSALS[403] },
        '413': { description: 'Body over 256 KiB' },
        '429': { description: 'This instance beats far faster than its interval: `{ error, message, interval }`, beat at `interval`' },
      },
    },
  },
  {
    method: 'get',
    path: HEARTBEAT_SOCKET_PATH,
    transport: 'beat-socket',
    operation: {
      summary: 'The beat socket: a WebSocket carrying the same beats, one per text message',
      description:
        'Each message is a heartbeat as for `PUT /api/v1/heartbeat`, answered in order with `{ status, body }`: the status and body the PUT would have had. The transport agents use by default (docs/protocol.md).',
      tags: ['Heartbeats'],
      security: [{ agentToken: [] }],
      responses: { '101': { description: 'Switching to the WebSocket protocol' }, ...refusals(AGENT_REFUSALS) },
    },
  },
  {
    method: 'get',
    path: '/socket.io/',
    transport: 'socket.io',
    operation: {
      summary: "The dashboard's live updates (socket.io: polling, or an upgrade to a WebSocket)",
      description:
        'Views of the fleet and their deltas (docs/backend.md). The same credentials as the REST API; a handshake from another site is refused.',
      tags: ['Realtime'],
      parameters: [
        { name: 'EIO', in: 'query', required: true, schema: { type: 'string', const: '4' } },
        { name: 'transport', in: 'query', required: true, schema: { enum: ['polling', 'websocket'] } },
      ],
      responses: {
        '101': { description: 'Upgraded to a WebSocket' },
        '200': { description: 'A polling answer' },
        '403': { description: 'Refused, with the reason' },
      },
    },
  },
  ...NACOS_LOGIN_PATHS.map((path): TableRoute => ({
    method: 'post',
    path,
    transport: 'fastify',
    operation: {
      summary: "Nacos's login: the password is an agent token",
      tags: ['Nacos'],
      security: [],
      parameters: nacosParams({ username: 'Any name', password: 'An agent token' }),
      responses: { '200': { description: '`{ accessToken, tokenTtl, globalAdmin }`' }, '403': text('`caused: unknown user!;`') },
    },
  })),
  {
    method: 'post',
    path: `${NACOS_NAMING_PATH}/instance`,
    transport: 'fastify',
    operation: nacos(
      'Register an instance',
      nacosParams(
        {
          ...ADDRESS,
          weight: 'Its weight',
          enabled: 'Whether it takes traffic',
          healthy: 'Its health',
          ephemeral: 'Kept by beats (true) or probed (false)',
          metadata: 'JSON object of strings',
        },
        ['serviceName', 'ip', 'port'],
      ),
      text('`ok`'),
    ),
  },
  {
    method: 'delete',
    path: `${NACOS_NAMING_PATH}/instance`,
    transport: 'fastify',
    operation: nacos('Deregister an instance', nacosParams(ADDRESS, ['serviceName', 'ip', 'port']), text('`ok`')),
  },
  {
    method: 'get',
    path: `${NACOS_NAMING_PATH}/instance`,
    transport: 'fastify',
    operation: nacos('One instance, as Nacos shows it', nacosParams(ADDRESS, ['serviceName', 'ip', 'port']), {
      description: 'The instance',
    }),
  },
  {
    method: 'put',
    path: `${NACOS_NAMING_PATH}/instance/beat`,
    transport: 'fastify',
    operation: nacos(
      "A Nacos client's beat",
      nacosParams({ ...ADDRESS, beat: 'JSON beat info (a full beat may register the instance)' }, ['serviceName']),
      { description: '`{ clientBeatInterval, code, lightBeatEnabled }`; code 20404: register again' },
    ),
  },
  {
    method: 'get',
    path: `${NACOS_NAMING_PATH}/instance/list`,
    transport: 'fastify',
    operation: nacos(
      'The instances of a service',
      nacosParams({ ...SERVICE, clusters: 'Comma list of clusters', healthyOnly: 'Only healthy ones' }, ['serviceName']),
      {
        description: '`{ name, hosts, cacheMillis, ... }`',
      },
    ),
  },
  {
    method: 'get',
    path: `${NACOS_NAMING_PATH}/service/list`,
    transport: 'fastify',
    operation: nacos(
      'Service names, a page at a time',
      nacosParams({ pageNo: 'Page, from 1', pageSize: 'Names per page', groupName: SERVICE.groupName, namespaceId: SERVICE.namespaceId }),
      {
        description: '`{ count, doms }`',
      },
    ),
  },
  {
    method: 'get',
    path: `${NACOS_NAMING_PATH}/operator/metrics`,
    transport: 'fastify',
    operation: nacos(
      'Server status and counts (what Nacos clients check the server health with)',
      nacosParams({ onlyStatus: 'Only `{ status }`' }),
      {
        description: '`{ status: "UP", ... }`',
      },
    ),
  },
];

/** Schemas the table refers to by name. */
export const TABLE_SCHEMAS: Record<string, JsonSchema> = {
  Heartbeat: jsonSchema(heartbeatSchema, 'input'),
  BeatReply: jsonSchema(beatReplySchema, 'output'),
};

/**
 * Routes Fastify serves that are not part of the API, and so not in the document: the document
 * itself and its UI, and the dashboard's files. `below`: the path and everything under it.
 * `whenBuilt`: there only when the dashboard is built. A route named here that no longer exists
 * fails the drift test too.
 */
export const NOT_API: readonly { path: string; why: string; below?: true; whenBuilt?: true }[] = [
  { path: '/api/docs', below: true, why: 'the OpenAPI UI and the document itself (openapi.json, openapi.yaml)' },
  { path: '/*', whenBuilt: true, why: "the dashboard's files" },
];

/** Whether a Fastify route (its path as registered) is one of NOT_API. */
export function isNotApi(path: string): boolean {
  return NOT_API.some((entry) => path === entry.path || (entry.below === true && path.startsWith(`${entry.path}/`)));
}

function refusals(answers: Record<number, string>): Record<string, { description: string }> {
  return Object.fromEntries(Object.entries(answers).map(([status, description]) => [status, { description }]));
}

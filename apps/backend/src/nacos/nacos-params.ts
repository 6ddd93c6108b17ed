import { isIP } from 'node:net';
import { LIMITS, describeIssues, metadataSchema } from '@vigil/protocol';
import {
  DEFAULT_CLUSTER,
  DEFAULT_GROUP,
  DEFAULT_NAMESPACE,
  registryId,
  type InstanceAddress,
  type InstanceSpec,
  type ServiceRef,
} from './nacos-instance.js';

/** A failure answered the way Nacos answers one: the status, and a text body `caused: <message>;`. */
export class NacosError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 413 | 429 | 500 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'NacosError';
  }
}

/** Request parameters by name. */
export type NacosParams = ReadonlyMap<string, string>;

/**
 * Merges the query string and a form body as a servlet's `getParameter` does (Nacos clients put
 * most parameters in the query string and `beat` in the body): the query string wins, and a
 * repeated parameter counts by its first value.
 */
export function readParams(query: unknown, body: unknown): NacosParams {
  const params = new Map<string, string>();
  for (const source of [query, body]) {
    if (typeof source !== 'object' || source === null) continue;
    for (const [key, raw] of Object.entries(source)) {
      const value: unknown = Array.isArray(raw) ? raw[0] : raw;
      if (params.has(key)) continue;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') params.set(key, String(value));
    }
  }
  return params;
}

// Nacos's name syntax. `@` is left out of names so that `group@@name` splits one way only;
// none of these allows `#`, which separates the parts of an instance id.
const NAME = /^[0-9a-zA-Z.:_-]+$/;
const CLUSTER = /^[0-9a-zA-Z-]+$/;
const NAMESPACE = /^[0-9a-zA-Z_-]+$/;
const HOST_NAME = /^[0-9a-zA-Z]([0-9a-zA-Z.-]*[0-9a-zA-Z])?$/;
const MAX_WEIGHT = 10_000;

const illegal = (key: string, why: string): NacosError => new NacosError(400, `Param '${key}' is illegal, ${why}`);

/** A parameter's trimmed value; blank counts as absent, as in Nacos's WebUtils. */
function optional(params: NacosParams, key: string): string | undefined {
  const value = params.get(key)?.trim();
  return value ? value : undefined;
}

function required(params: NacosParams, key: string): string {
  const value = optional(params, key);
  if (value === undefined) throw new NacosError(400, `Param '${key}' is required.`);
  return value;
}

/** A JSON scalar as the text a form field would carry. */
function scalar(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value).trim() || undefined;
  throw illegal(key, 'it must be a string, a number or a boolean');
}

/** commons-lang's BooleanUtils words; anything else is refused where Nacos would read false. */
function bool(value: string | undefined, key: string): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.toLowerCase();
  if (['true', 'on', 'yes', 'y', 't'].includes(word)) return true;
  if (['false', 'off', 'no', 'n', 'f'].includes(word)) return false;
  throw illegal(key, `it must be true or false, not '${value}'`);
}

function port(value: string, key: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n <= 65_535)) throw illegal(key, `it must be a whole number from 0 to 65535, not '${value}'`);
  return n;
}

function host(value: string, key: string): string {
  if (isIP(value) !== 0 || (value.length <= LIMITS.hostNameLength && HOST_NAME.test(value))) return value;
  throw illegal(key, `it must be an IPv4 or IPv6 address or a host name, not '${value}'`);
}

function weight(value: string | undefined, key: string): number {
  if (value === undefined) return 1;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > MAX_WEIGHT) throw illegal(key, `the weights range from 0.0 to ${MAX_WEIGHT}.0, not '${value}'`);
  return n;
}

function positiveInt(value: string, key: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw illegal(key, `it must be a whole number from 1 on, not '${value}'`);
  return n;
}

/**
 * Metadata as a JSON object of strings (what clients send), or Nacos's older `k1=v1,k2=v2` form;
 * held to the same limits as an agent's metadata, so that every instance passes the wire schema.
 */
function metadata(value: unknown, key: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'string') return metadataObject(value, key);
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return checkedMetadata(Object.fromEntries(value.split(',').map((pair) => keyValue(pair, key))), key);
  }
  return metadataObject(json, key);
}

function metadataObject(value: unknown, key: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw illegal(key, 'it must be a JSON object');
  const entries = Object.entries(value).map(([k, v]): [string, string] => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [k, String(v)];
    throw illegal(`${key}.${k}`, 'it must be a string, a number or a boolean');
  });
  return checkedMetadata(Object.fromEntries(entries), key);
}

function keyValue(pair: string, key: string): [string, string] {
  const parts = pair.split('=');
  if (parts.length !== 2) throw illegal(key, `it must be a JSON object or k1=v1,k2=v2, not '${pair}'`);
  return [parts[0]!, parts[1]!];
}

function checkedMetadata(candidate: Record<string, string>, key: string): Record<string, string> {
  const parsed = metadataSchema.safeParse(candidate);
  if (!parsed.success) throw illegal(key, describeIssues(parsed.error).join('; '));
  return parsed.data;
}

function namespaceOf(params: NacosParams): string {
  const namespaceId = optional(params, 'namespaceId') ?? DEFAULT_NAMESPACE;
  if (!NAMESPACE.test(namespaceId)) throw illegal('namespaceId', 'it can only have these characters: 0-9a-zA-Z_-');
  return namespaceId;
}

/** The service named by `serviceName` (`name`, or `group@@name`, which overrides `groupName`). */
export function serviceRef(params: NacosParams): ServiceRef {
  const namespaceId = namespaceOf(params);
  const raw = required(params, 'serviceName');
  const split = raw.indexOf('@@');
  const groupName = split >= 0 ? raw.slice(0, split) : (optional(params, 'groupName') ?? DEFAULT_GROUP);
  const serviceName = split >= 0 ? raw.slice(split + 2) : raw;
  if (!NAME.test(groupName)) {
    throw illegal(
      split >= 0 ? 'serviceName' : 'groupName',
      `the group name can only have these characters: 0-9a-zA-Z.:_-, not '${groupName}'`,
    );
  }
  if (!NAME.test(serviceName)) {
    throw illegal('serviceName', `it should be 'name' or 'groupName@@name' with these characters: 0-9a-zA-Z.:_-, not '${raw}'`);
  }
  return { namespaceId, groupName, serviceName };
}

/** A parameter, else its older name that Nacos still reads; with the name that was used, for messages. */
function either(params: NacosParams, name: string, older: string): { key: string; value: string | undefined } {
  const value = optional(params, name);
  return value !== undefined ? { key: name, value } : { key: older, value: optional(params, older) };
}

function clusterOf(value: string | undefined, key: string): string {
  const clusterName = value ?? DEFAULT_CLUSTER;
  if (!CLUSTER.test(clusterName)) throw illegal(key, `the cluster name can only have these characters: 0-9a-zA-Z-, not '${clusterName}'`);
  return clusterName;
}

/** `clusterName`, else the older `cluster`, else `DEFAULT`. */
function clusterParam(params: NacosParams): string {
  const { key, value } = either(params, 'clusterName', 'cluster');
  return clusterOf(value, key);
}

/** Refuses an address whose id would not fit the registry (and so the dashboard's schema). */
function checked<A extends InstanceAddress>(address: A): A {
  const id = registryId(address);
  if (id.length > LIMITS.idLength) {
    throw illegal('serviceName', `the instance id '${id}' is ${id.length} characters long; Vigil allows ${LIMITS.idLength}`);
  }
  return address;
}

/** `ip`, `port`, the service and the cluster: deregister and instance detail. */
export function instanceAddress(params: NacosParams): InstanceAddress {
  return checked({
    ...serviceRef(params),
    clusterName: clusterParam(params),
    ip: host(required(params, 'ip'), 'ip'),
    port: port(required(params, 'port'), 'port'),
  });
}

/** `POST /instance`. The `healthy` parameter is not read: a new instance starts healthy (see docs/nacos.md). */
export function registration(params: NacosParams): InstanceSpec {
  // The Java client sends `enable`.
  const enabled = either(params, 'enabled', 'enable');
  return {
    ...instanceAddress(params),
    weight: weight(optional(params, 'weight'), 'weight'),
    enabled: bool(enabled.value, enabled.key) ?? true,
    ephemeral: bool(optional(params, 'ephemeral'), 'ephemeral') ?? true,
    metadata: metadata(optional(params, 'metadata'), 'metadata'),
  };
}

export interface BeatRequest {
  address: InstanceAddress;
  /** The instance to register if unknown: present when the client sent a `beat` body (a full beat). */
  register: InstanceSpec | null;
}

/**
 * `PUT /instance/beat`. A light beat names the instance by parameters; a full beat's `beat` JSON
 * (ip, port, cluster, weight, metadata, ephemeral) takes precedence over them, as in Nacos.
 */
export function beatRequest(params: NacosParams): BeatRequest {
  const ref = serviceRef(params);
  const text = optional(params, 'beat');
  if (text === undefined) {
    const address = checked({
      ...ref,
      clusterName: clusterParam(params),
      ip: host(required(params, 'ip'), 'ip'),
      port: port(optional(params, 'port') ?? '0', 'port'),
    });
    return { address, register: null };
  }
  let beat: unknown;
  try {
    beat = JSON.parse(text);
  } catch {
    throw illegal('beat', 'it must be a JSON object');
  }
  if (typeof beat !== 'object' || beat === null || Array.isArray(beat)) throw illegal('beat', 'it must be a JSON object');
  const b = beat as Record<string, unknown>;
  const ip = scalar(b.ip, 'beat.ip') ?? required(params, 'ip');
  const cluster = scalar(b.cluster, 'beat.cluster');
  const register = checked({
    ...ref,
    clusterName: cluster !== undefined ? clusterOf(cluster, 'beat.cluster') : clusterParam(params),
    ip: host(ip, 'beat.ip'),
    port: port(scalar(b.port, 'beat.port') ?? optional(params, 'port') ?? '0', 'beat.port'),
    weight: weight(scalar(b.weight, 'beat.weight'), 'beat.weight'),
    enabled: true,
    ephemeral: bool(scalar(b.ephemeral, 'beat.ephemeral'), 'beat.ephemeral') ?? true,
    metadata: metadata(b.metadata ?? undefined, 'beat.metadata'), // null counts as absent
  });
  return { address: register, register };
}

export interface ListQuery {
  service: ServiceRef;
  /** Exactly as sent: clients key their cache on the value echoed back. */
  clusters: string;
  healthyOnly: boolean;
}

/** `GET /instance/list`. */
export function listQuery(params: NacosParams): ListQuery {
  return {
    service: serviceRef(params),
    clusters: params.get('clusters') ?? '',
    healthyOnly: bool(optional(params, 'healthyOnly'), 'healthyOnly') ?? false,
  };
}

export interface ServicePage {
  namespaceId: string;
  groupName: string;
  pageNo: number;
  pageSize: number;
}

/** `GET /service/list`: pageNo and pageSize are required, as in Nacos. */
export function servicePage(params: NacosParams): ServicePage {
  const groupName = optional(params, 'groupName') ?? DEFAULT_GROUP;
  if (!NAME.test(groupName)) throw illegal('groupName', `it can only have these characters: 0-9a-zA-Z.:_-, not '${groupName}'`);
  return {
    namespaceId: namespaceOf(params),
    groupName,
    pageNo: positiveInt(required(params, 'pageNo'), 'pageNo'),
    pageSize: positiveInt(required(params, 'pageSize'), 'pageSize'),
  };
}

/** `GET /operator/metrics?onlyStatus=true` answers only the status. */
export function metricsQuery(params: NacosParams): { onlyStatus: boolean } {
  return { onlyStatus: bool(optional(params, 'onlyStatus'), 'onlyStatus') ?? false };
}

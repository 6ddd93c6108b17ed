import { Cluster, Redis } from 'ioredis';

/** A connection to one Redis, or to a Redis Cluster (every key of a fleet shares one hash tag, so scripts run on one shard). */
export type RedisClient = Redis | Cluster;

export interface RedisTarget {
  /** `VIGIL_REDIS_URL`: one URL, or for a cluster a comma-separated list of its nodes (any of them will do to start). */
  url: string;
  cluster: boolean;
}

/**
 * Connects the way the store needs: commands fail fast while disconnected (`offlineQueue`
 * false; the store keeps its own pending writes instead), reconnection every 200 ms.
 */
export function connectRedis(
  target: RedisTarget,
  { commandTimeout, offlineQueue = false }: { commandTimeout: number; offlineQueue?: boolean },
): RedisClient {
  const urls = target.url.split(',').map((url) => url.trim());
  if (!target.cluster) {
    return new Redis(urls[0]!, { enableOfflineQueue: offlineQueue, maxRetriesPerRequest: 1, retryStrategy: () => 200, commandTimeout });
  }
  // Credentials, TLS and database come from the first URL; the nodes from all of them.
  const first = new URL(urls[0]!);
  const nodes = urls.map((url) => {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  return new Cluster(nodes, {
    enableOfflineQueue: offlineQueue,
    clusterRetryStrategy: () => 200,
    redisOptions: {
      ...(first.username && { username: decodeURIComponent(first.username) }),
      ...(first.password && { password: decodeURIComponent(first.password) }),
      ...(first.protocol === 'rediss:' && { tls: {} }),
      maxRetriesPerRequest: 1,
      commandTimeout,
    },
  });
}

/** The URL (or URLs) without passwords, for logs. */
export function redactedUrl(urls: string): string {
  return urls
    .split(',')
    .map((url) => {
      const parsed = new URL(url.trim());
      if (parsed.password) parsed.password = '***';
      return parsed.href;
    })
    .join(',');
}

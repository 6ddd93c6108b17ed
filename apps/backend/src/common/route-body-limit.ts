import { RouteConfig } from '@nestjs/platform-fastify';
import type { RouteOptions } from 'fastify';

/**
 * A body limit for one Nest route, below Fastify's global one (1 MiB): a larger body is refused
 * with Fastify's 413 before it is read further. Nest passes `@RouteConfig` to Fastify as the
 * route's `config`; `routeBodyLimits`, an `onRoute` hook app.ts adds before the routes are
 * registered, makes it the route's `bodyLimit`.
 */
export const BodyLimit = (bytes: number) => RouteConfig({ bodyLimit: bytes });

export function routeBodyLimits(route: RouteOptions): void {
  const limit = (route.config as { bodyLimit?: unknown } | undefined)?.bodyLimit;
  if (typeof limit === 'number') route.bodyLimit = limit;
}

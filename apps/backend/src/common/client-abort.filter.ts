import { Catch, type ArgumentsHost, type HttpServer } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * A client that closed its connection mid-body is an expected event, not a server error: one
 * debug line, where Nest's handler would log an error with a stack per request (a thousand
 * aborted logins made 8,000 lines). Every other exception goes to Nest's handler unchanged.
 */
@Catch()
export class ClientAbortFilter extends BaseExceptionFilter {
  constructor(
    adapter: HttpServer,
    private readonly log: Logger,
  ) {
    super(adapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (!isClientAbort(exception, request)) return super.catch(exception, host);
    this.log.debug({ method: request.method, route: request.routeOptions.url }, 'request body aborted by the client');
    const reply = http.getResponse<FastifyReply>();
    // Nobody reads it: the answer only lets Fastify finish the request.
    if (!reply.sent) void reply.code(400).send({ error: 'request aborted' });
  }
}

function isClientAbort(exception: unknown, request: FastifyRequest | undefined): boolean {
  return (exception as { code?: unknown } | null)?.code === 'ECONNRESET' && request?.raw?.destroyed === true;
}

import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  NotFoundException,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { stringifySetCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_PATH, loginRequestSchema, sessionStateSchema, type SessionState } from '@vigil/protocol';
import { z } from 'zod';
import { BodyLimit } from '../common/route-body-limit.js';
import { parseOr400 } from '../common/validation.js';
import { INVALID, Operation, Responses, ZodBody, ZodResponse } from '../openapi/zod-api.js';
import { isCrossSite, sessionCookieOf } from './access-control.js';
import { AuthService, type Peer } from './auth.service.js';
import { SESSION_COOKIE } from './sessions.js';

/** A login body is `{ password }` (at most 1024 characters): 4 KiB is plenty. */
export const LOGIN_BODY_LIMIT = 4096;

const loggedInSchema = z.object({ authenticated: z.literal(true) });

const peerOf = (request: FastifyRequest): Peer => ({ address: request.socket.remoteAddress, headers: request.headers });

/** A request sent from another site's page (a cross-site form post) changes no session. */
function refuseCrossSite(request: FastifyRequest): void {
  if (isCrossSite(request.headers)) throw new ForbiddenException({ error: 'cross-site request refused' });
}

/**
 * `GET /api/v1/auth/session` tells the dashboard whether to show its login page;
 * `POST /api/v1/auth/login` `{ password }` sets the session cookie (HttpOnly, SameSite=Strict,
 * Secure under TLS); `POST /api/v1/auth/logout` ends it. Open to every client (the access rules'
 * `login` audience); logins are limited per client (AuthService).
 */
@ApiTags('Auth')
@Controller(AUTH_PATH)
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Get('session')
  @Operation('Whether the dashboard must show its login page', { open: true })
  @ZodResponse(200, 'Session state', sessionStateSchema, 'SessionState')
  session(@Req() request: FastifyRequest): SessionState {
    return this.auth.sessionState(peerOf(request));
  }

  @Post('login')
  @HttpCode(200)
  @BodyLimit(LOGIN_BODY_LIMIT)
  @Operation('Log in with the admin password; sets the vigil_session cookie', { open: true })
  @ZodBody(loginRequestSchema)
  @ZodResponse(200, 'Logged in: the `vigil_session` cookie is set', loggedInSchema)
  @Responses({
    400: INVALID,
    401: 'Wrong password',
    403: 'Cross-site request',
    404: 'No admin password configured',
    413: 'Body over 4 KiB',
    429: 'Too many failed logins from this client in 5 minutes: `{ error, retryAfterS }` and a Retry-After header',
  })
  async login(
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<z.output<typeof loggedInSchema>> {
    if (!this.auth.loginConfigured) {
      throw new NotFoundException({
        error: 'no login configured',
        message: 'set VIGIL_ADMIN_PASSWORD or VIGIL_ADMIN_PASSWORD_HASH to enable dashboard logins',
      });
    }
    refuseCrossSite(request);
    const { password } = parseOr400(loginRequestSchema, body, 'login');
    const result = await this.auth.login(password, peerOf(request));
    switch (result.outcome) {
      case 'limited':
        reply.header('retry-after', result.retryAfterS);
        throw new HttpException({ error: 'too many failed logins', retryAfterS: result.retryAfterS }, 429);
      case 'wrong-password':
        throw new UnauthorizedException({ error: 'wrong password' });
      case 'logged-in':
        reply.header('set-cookie', this.cookie(result.session, result.ttlMs));
        return { authenticated: true };
    }
  }

  @Post('logout')
  @HttpCode(204)
  @Operation('End the session', { open: true })
  @Responses({ 204: 'Logged out: the cookie is cleared', 403: 'Cross-site request' })
  logout(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): void {
    refuseCrossSite(request);
    this.auth.logout(sessionCookieOf(request.headers));
    reply.header('set-cookie', this.cookie('', 0));
  }

  private cookie(value: string, maxAgeMs: number): string {
    return stringifySetCookie({
      name: SESSION_COOKIE,
      value,
      httpOnly: true,
      sameSite: 'strict',
      secure: this.auth.secureCookies,
      path: '/',
      maxAge: Math.floor(maxAgeMs / 1000),
    });
  }
}

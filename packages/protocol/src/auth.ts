import { z } from 'zod';

/** `GET /api/v1/auth/session`: whether the dashboard must show its login page. */
export const sessionStateSchema = z.object({
  /** The backend wants a login (or an API token) for the dashboard and API. */
  loginRequired: z.boolean(),
  /** This request is let in: logged in, an API token, or loopback in protected mode. */
  authenticated: z.boolean(),
});

export type SessionState = z.infer<typeof sessionStateSchema>;

/** `POST /api/v1/auth/login`. */
export const loginRequestSchema = z.object({ password: z.string().min(1).max(1024) });

/** Where the dashboard logs in and out. */
export const AUTH_PATH = '/api/v1/auth';

import { AUTH_PATH, sessionStateSchema, type SessionState } from '@vigil/protocol';
import { requestJson, withSchema } from '../../api/http';

/** Whether the backend wants a login, and whether this browser has one. */
export function fetchSession(): Promise<SessionState> {
  return requestJson(`${AUTH_PATH}/session`, withSchema(sessionStateSchema));
}

/** Logs in with the admin password; the backend sets an HttpOnly session cookie. */
export async function login(password: string): Promise<void> {
  await requestJson(`${AUTH_PATH}/login`, () => undefined, { method: 'POST', body: { password } });
}

export async function logout(): Promise<void> {
  await requestJson(`${AUTH_PATH}/logout`, () => undefined, { method: 'POST' });
}

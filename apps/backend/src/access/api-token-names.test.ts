import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/vigil-config.js';
import { AccessControl } from './access-control.js';
import { parseApiTokens } from './credentials.js';

const DEPLOY = 'deploy-token-0123456789';
const OTHER = 'other-token-0123456789';

describe("who makes a console request (a change's updatedBy)", () => {
  it("is the API token's name, api-token-<position> for an unnamed one, admin for a login, anonymous without console credentials", () => {
    const access = new AccessControl(
      loadConfig({ VIGIL_API_TOKENS: `${DEPLOY}:deploy-bot, ${OTHER}`, VIGIL_ADMIN_PASSWORD: 'correct horse battery' }).access,
    );
    expect(access.actorOf({ authorization: `Bearer ${DEPLOY}` }, 0)).toBe('deploy-bot');
    expect(access.actorOf({ authorization: `Bearer ${OTHER}` }, 0)).toBe('api-token-2');
    const cookie = `vigil_session=${access.sessions!.issue(0)}`;
    expect(access.actorOf({ cookie }, 1_000)).toBe('admin');
    // A named token still opens the console as any token does.
    expect(access.check('console', { method: 'GET', address: '192.0.2.9', headers: { authorization: `Bearer ${DEPLOY}` } }, 0)).toEqual({
      allow: true,
    });
    expect(new AccessControl(loadConfig({}).access).actorOf({}, 0)).toBe('anonymous');
  });

  it('refuses a bad token name or a second colon, naming the entry and never the value', () => {
    expect(() => parseApiTokens(`${DEPLOY}:`)).toThrow('entry 1 has a bad name');
    expect(() => parseApiTokens(`${OTHER},${DEPLOY}:two words`)).toThrow('entry 2 has a bad name');
    expect(() => parseApiTokens(`${DEPLOY}:a:b`)).toThrow('entry 1 has more than one');
    expect(() => parseApiTokens(`${DEPLOY}:a:b`)).not.toThrow(DEPLOY);
  });
});

import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { PRIVATE_TARGET_REFUSED, isPrivateAddress, privateAddressGuard, targetProblem, urlProblem } from './url-safety.js';

describe('isPrivateAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['0.0.0.0', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['100.128.0.1', false],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['8.8.8.8', false],
    ['93.184.216.34', false],
    ['::1', true],
    ['::', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['fd12:3456::1', true],
    ['fc00::1', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['ff02::1', true],
    ['2001:4860:4860::8888', false],
    ['not an address', true],
  ])('%s -> %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

describe('urlProblem', () => {
  it.each([
    ['https://hooks.slack.com/services/T/B/x', undefined],
    ['http://example.com:8080/hook?token=1', undefined],
    ['ftp://example.com/x', 'must use http or https, not ftp'],
    ['file:///etc/passwd', 'must use http or https, not file'],
    ['javascript:alert(1)', 'must use http or https, not javascript'],
    ['/relative/path', 'must be an absolute http or https URL'],
    ['not a url', 'must be an absolute http or https URL'],
  ])('%s', (url, expected) => {
    expect(urlProblem(url)).toBe(expected);
  });
});

describe('targetProblem', () => {
  const resolveTo =
    (...addresses: string[]) =>
    async (): Promise<LookupAddress[]> =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses private IP literals, IPv6 in brackets and hex forms included', async () => {
    expect(await targetProblem('http://127.0.0.1:9000/x', false)).toMatch(/^127\.0\.0\.1 is a loopback, private/);
    expect(await targetProblem('http://[::1]/x', false)).toMatch(/^::1 is a loopback/);
    expect(await targetProblem('http://0x7f.1/x', false)).toMatch(/^127\.0\.0\.1 is/);
    expect(await targetProblem('http://[::ffff:10.0.0.1]/x', false)).toMatch(/is a loopback, private/);
  });

  it('refuses a name when any of its addresses is private', async () => {
    expect(await targetProblem('https://hooks.example/x', false, resolveTo('93.184.216.34', '10.0.0.7'))).toMatch(
      /^hooks\.example resolves to 10\.0\.0\.7, which is a loopback, private or link-local address; set VIGIL_WEBHOOK_ALLOW_PRIVATE=true/,
    );
    expect(await targetProblem('https://hooks.example/x', false, resolveTo('93.184.216.34', '2001:4860:4860::8888'))).toBeUndefined();
  });

  it('refuses a name that does not resolve', async () => {
    const fail = async (): Promise<LookupAddress[]> => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    expect(await targetProblem('https://nowhere.invalid/x', false, fail)).toBe('cannot resolve nowhere.invalid (ENOTFOUND)');
  });

  it('allows private targets when configured to, but never another scheme', async () => {
    expect(await targetProblem('http://127.0.0.1/x', true)).toBeUndefined();
    expect(await targetProblem('http://localhost/x', true, resolveTo('127.0.0.1'))).toBeUndefined();
    expect(await targetProblem('gopher://127.0.0.1/x', true)).toBe('must use http or https, not gopher');
  });
});

describe('privateAddressGuard', () => {
  const guard = (host: string, all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      privateAddressGuard(host, { all }, (error, address) => resolve({ error, address })),
    );

  it('refuses a name resolving to loopback at connect time', async () => {
    const { error } = await guard('localhost', false);
    expect(error?.code).toBe(PRIVATE_TARGET_REFUSED);
    expect(error?.message).toMatch(/^localhost resolves to .* which is a loopback/);
  });

  it('passes lookup errors through', async () => {
    const { error } = await guard('no-such-host.invalid', true);
    expect(error?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

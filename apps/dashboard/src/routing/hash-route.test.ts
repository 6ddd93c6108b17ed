import { describe, expect, it } from 'vitest';
import { parseHash, routeHref } from './hash-route';

describe('hash routes', () => {
  it('reads the path and the query after the hash', () => {
    const route = parseHash('#/events?level=important&service=orders');
    expect(route.path).toBe('/events');
    expect(route.params.get('level')).toBe('important');
    expect(route.params.get('service')).toBe('orders');
  });

  it('treats no hash as the overview', () => {
    expect(parseHash('').path).toBe('/');
    expect(parseHash('#').path).toBe('/');
    expect(parseHash('#?status=lost').params.get('status')).toBe('lost');
  });

  it('keeps question marks inside the query', () => {
    expect(parseHash('#/?q=a?b').params.get('q')).toBe('a?b');
  });

  it('formats an href that parses back to the same route', () => {
    const href = routeHref('/instances/a%2Fb', new URLSearchParams({ q: 'web 1' }));
    expect(href).toBe('#/instances/a%2Fb?q=web+1');
    expect(parseHash(href).params.get('q')).toBe('web 1');
    expect(routeHref('/plugins')).toBe('#/plugins');
  });
});

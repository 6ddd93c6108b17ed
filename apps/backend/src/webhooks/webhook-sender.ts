import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { PRIVATE_TARGET_REFUSED, isPrivateAddress, privateAddressGuard, urlHost } from './url-safety.js';

/** What one POST came to: the answer's status and the start of its body, or why there was none. */
export type SendResult =
  | { status: number; body: string; durationMs: number }
  | { error: string; /** the target is private: trying again cannot help */ refused: boolean; durationMs: number };

export interface SenderOptions {
  allowPrivate: boolean;
  /** Limit for one whole exchange: DNS, connect, TLS, request and answer. */
  timeoutMs: number;
}

/** Enough of an answer to read a chat service's error code; the rest is drained unread. */
const MAX_REPLY_CHARS = 4096;

/**
 * POSTs JSON to a webhook URL with node:http rather than fetch, because node:http takes a
 * `lookup`: the address it connects to is the one `privateAddressGuard` checked. It never
 * follows redirects, so a 3xx cannot lead the backend to another host.
 */
export class WebhookSender {
  constructor(private readonly options: SenderOptions) {}

  post(rawUrl: string, body: string, cancel?: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const url = new URL(rawUrl);
    const host = urlHost(url);
    // An IP literal never goes through `lookup`, so it is checked here.
    if (!this.options.allowPrivate && isIP(host) && isPrivateAddress(host)) {
      return Promise.resolve({ error: `refused: ${host} is a private address`, refused: true, durationMs: 0 });
    }
    // One controller per request rather than AbortSignal.any([timeout, cancel]): on Node 20,
    // any() combined with a long-lived signal like `cancel` keeps every combined signal alive.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    const onCancel = () => controller.abort();
    if (cancel?.aborted) controller.abort();
    cancel?.addEventListener('abort', onCancel, { once: true });
    const failure = (error: NodeJS.ErrnoException): SendResult => ({
      error: timedOut
        ? `timed out after ${this.options.timeoutMs} ms`
        : cancel?.aborted
          ? 'cancelled: the backend is stopping'
          : error.message,
      refused: error.code === PRIVATE_TARGET_REFUSED,
      durationMs: elapsed(),
    });
    return new Promise<SendResult>((resolve) => {
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'vigil-backend-webhooks',
        },
        signal: controller.signal,
        ...(!this.options.allowPrivate && { lookup: privateAddressGuard }),
      });
      request.on('error', (error) => resolve(failure(error)));
      request.on('response', (response) => {
        let reply = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (reply.length < MAX_REPLY_CHARS) reply += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: reply.slice(0, MAX_REPLY_CHARS), durationMs: elapsed() }),
        );
        // Only the first settle counts: after `end` these are no-ops.
        response.on('error', (error) => resolve(failure(error)));
        response.on('close', () => resolve(failure(new Error('the connection closed before the answer ended'))));
      });
      request.end(body);
    }).finally(() => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    });
  }
}

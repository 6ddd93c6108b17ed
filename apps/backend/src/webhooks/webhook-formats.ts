import type { EventRecord } from '@vigil/protocol';
import type { WebhookFormat } from './webhook-schema.js';

/**
 * The message for one event, in plain text: level, type, where, message, time. It starts with
 * "[Vigil]" so a DingTalk robot secured by a keyword can use "Vigil" as that keyword.
 */
export function eventText(event: EventRecord): string {
  return [`[Vigil] ${event.level.toUpperCase()} ${event.type}`, ...details(event)].join('\n');
}

/** Slack's mrkdwn: the heading in bold, and `&`, `<`, `>` escaped as Slack requires. */
function slackText(event: EventRecord): string {
  return [`*[Vigil] ${event.level.toUpperCase()}* \`${event.type}\``, ...details(event).map(escapeSlack)].join('\n');
}

function details(event: EventRecord): string[] {
  const where = [event.service && `service: ${event.service}`, event.instanceId && `instance: ${event.instanceId}`]
    .filter(Boolean)
    .join(', ');
  return [where, event.message, `time: ${new Date(event.time).toISOString()}`].filter(Boolean);
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The JSON body posted for an event in a webhook's format. */
export function messageBody(format: WebhookFormat, event: EventRecord): object {
  switch (format) {
    case 'generic':
      return { ...event, text: eventText(event) };
    case 'slack':
      return { text: slackText(event) };
    case 'feishu':
      return { msg_type: 'text', content: { text: eventText(event) } };
    case 'dingtalk':
      return { msgtype: 'text', text: { content: eventText(event) } };
  }
}

/**
 * Feishu and DingTalk answer most refusals (bad keyword, bad signature, rate limit) with HTTP
 * 200 and an error code in the body; without this check such a message would count as
 * delivered. Returns the problem, or undefined when the reply means "sent".
 */
export function replyProblem(format: WebhookFormat, body: string): string | undefined {
  if (format !== 'feishu' && format !== 'dingtalk') return undefined;
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    return undefined; // not the JSON these services answer with: nothing to judge
  }
  if (typeof reply !== 'object' || reply === null) return undefined;
  const r = reply as Record<string, unknown>;
  const [code, message] =
    format === 'dingtalk' ? [r.errcode, r.errmsg] : r.code !== undefined ? [r.code, r.msg] : [r.StatusCode, r.StatusMessage];
  if (code === undefined || code === 0) return undefined;
  return `${format} answered code ${String(code)}${message ? `: ${String(message)}` : ''}`;
}

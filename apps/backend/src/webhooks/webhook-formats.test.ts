import type { EventRecord } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { eventText, messageBody, replyProblem } from './webhook-formats.js';

const lost: EventRecord = {
  id: '42',
  time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
  level: 'important',
  type: 'instance.lost',
  origin: 'backend',
  message: 'no beat for 15000 ms <since> a & b',
  instanceId: 'i-1',
  service: 'orders',
  attributes: { lostAfterMs: '15000' },
};

const text = [
  '[Vigil] IMPORTANT instance.lost',
  'service: orders, instance: i-1',
  'no beat for 15000 ms <since> a & b',
  'time: 2026-01-02T03:04:05.006Z',
].join('\n');

describe('webhook message formats', () => {
  it('writes level, type, service and instance, message and ISO time', () => {
    expect(eventText(lost)).toBe(text);
  });

  it('leaves out the service line of an event without service or instance', () => {
    const { service: _s, instanceId: _i, ...backendEvent } = lost;
    expect(eventText({ ...backendEvent, type: 'backend.stall' })).toBe(
      ['[Vigil] IMPORTANT backend.stall', 'no beat for 15000 ms <since> a & b', 'time: 2026-01-02T03:04:05.006Z'].join('\n'),
    );
  });

  it('generic: the event record plus its text', () => {
    expect(messageBody('generic', lost)).toEqual({ ...lost, text });
  });

  it('slack: mrkdwn text with &, < and > escaped', () => {
    expect(messageBody('slack', lost)).toEqual({
      text: [
        '*[Vigil] IMPORTANT* `instance.lost`',
        'service: orders, instance: i-1',
        'no beat for 15000 ms &lt;since&gt; a &amp; b',
        'time: 2026-01-02T03:04:05.006Z',
      ].join('\n'),
    });
  });

  it('feishu and dingtalk: their text message shapes', () => {
    expect(messageBody('feishu', lost)).toEqual({ msg_type: 'text', content: { text } });
    expect(messageBody('dingtalk', lost)).toEqual({ msgtype: 'text', text: { content: text } });
  });
});

describe('replyProblem', () => {
  it('reads DingTalk and Feishu error codes sent with HTTP 200', () => {
    expect(replyProblem('dingtalk', '{"errcode":0,"errmsg":"ok"}')).toBeUndefined();
    expect(replyProblem('dingtalk', '{"errcode":310000,"errmsg":"keywords not in content"}')).toBe(
      'dingtalk answered code 310000: keywords not in content',
    );
    expect(replyProblem('feishu', '{"code":0,"msg":"success","data":{}}')).toBeUndefined();
    expect(replyProblem('feishu', '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}')).toMatch(
      /^feishu answered code 19021: sign match fail/,
    );
    expect(replyProblem('feishu', '{"StatusCode":0,"StatusMessage":"success"}')).toBeUndefined();
  });

  it('does not judge other formats or non-JSON answers', () => {
    expect(replyProblem('slack', 'invalid_payload')).toBeUndefined();
    expect(replyProblem('generic', '{"errcode":1}')).toBeUndefined();
    expect(replyProblem('dingtalk', 'ok')).toBeUndefined();
  });
});

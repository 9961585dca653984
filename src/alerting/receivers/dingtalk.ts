/**
 * DingTalk custom robot ("自定义机器人"): POST {"msgtype":"markdown","markdown":{title,text},"at":{...}}
 * to https://oapi.dingtalk.com/robot/send?access_token=...
 *
 * - Signing ("加签"): with a secret, each request carries `timestamp` (ms) and
 *   `sign` = base64(HMAC-SHA256(key = secret, message = `${timestamp}\n${secret}`)), both as
 *   URL-encoded query parameters. DingTalk accepts a timestamp within one hour.
 * - Failures come back as HTTP 200 with errcode != 0; 130101 and 410100 ("send too fast") are the
 *   robot's rate limit (20 messages a minute, then throttled for 10 minutes) and are retried after
 *   the throttle backoff; -1 (busy) is retried; every other errcode is permanent.
 * - The markdown text is limited to 20000 bytes: longer texts are cut with a marker.
 */
import { createHmac } from 'node:crypto';
import type { Notification } from '../notification.js';
import { byteLength, prefixWithinBytes, truncateBytes } from '../truncate.js';
import { describeReceiver, judgeErrcode, jsonMessage } from './common.js';
import type { ReceiverCommonConfig, HttpRequest, HttpResponse, Receiver, RenderedMessage, Verdict } from './types.js';
import { z } from 'zod';
import { chatMarkdownEscape, CONFIG_NAMES, noEscape, plainTextEscape, type RenderOptions, type Template } from '../template.js';
import { DINGTALK_TEXT, DINGTALK_TITLE } from './defaults.js';
import { defineReceiver } from './definition.js';
import { commonOptions, templateOption, urlOptions, secretNote } from './options.js';

export const DINGTALK_MAX_TEXT_BYTES = 20_000;

/** Record values in the markdown as text (template.ts chatMarkdownEscape); the configured link as it is. */
const MARKDOWN: RenderOptions = { escape: chatMarkdownEscape, trusted: { names: CONFIG_NAMES, escape: noEscape } };
export const DINGTALK_MAX_TITLE_BYTES = 256;
/** errcodes of the robot's rate limit */
export const DINGTALK_THROTTLE_CODES: ReadonlySet<number> = new Set([130101, 410100]);

/** The `sign` parameter (before URL encoding). */
export function dingTalkSign(secret: string, timestamp: number | string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

/** The webhook URL with `timestamp` and `sign` query parameters (URL-encoded). */
export function signedDingTalkUrl(url: string, secret: string, timestamp: number): string {
  const u = new URL(url);
  u.searchParams.set('timestamp', String(timestamp));
  u.searchParams.set('sign', dingTalkSign(secret, timestamp));
  return u.toString();
}

export class DingTalkReceiver implements Receiver {
  readonly name: string;
  readonly type = 'dingtalk' as const;

  constructor(readonly config: DingTalkConfig) {
    this.name = config.name;
  }

  render(n: Notification): RenderedMessage {
    const c = this.config;
    // the title is plain text (the notification list); the text is markdown: record values stay text in both
    const title = prefixWithinBytes(c.title.render(n.view, { escape: plainTextEscape }).replace(/\s+/g, ' ').trim(), DINGTALK_MAX_TITLE_BYTES) || n.view.title;
    // mentions only notify when the @mobile / @userId is also in the text
    const mentions = [...c.atMobiles.map((m) => `@${m}`), ...c.atUserIds.map((u) => `@${u}`)].join(' ');
    const suffix = mentions ? `\n\n${mentions}` : '';
    const rendered = c.text.render(n.view, MARKDOWN).trim();
    const text = truncateBytes(rendered, DINGTALK_MAX_TEXT_BYTES - byteLength(suffix)) + suffix;
    const payload: Record<string, unknown> = { msgtype: 'markdown', markdown: { title, text } };
    if (c.atMobiles.length || c.atUserIds.length || c.atAll) payload['at'] = { atMobiles: c.atMobiles, atUserIds: c.atUserIds, isAtAll: c.atAll };
    return jsonMessage(payload, text.length - suffix.length !== rendered.length);
  }

  request(message: RenderedMessage, now: number): HttpRequest {
    const url = this.config.secret ? signedDingTalkUrl(this.config.url, this.config.secret, now) : this.config.url;
    return { url, method: 'POST', headers: message.headers, body: message.body };
  }

  judge(response: HttpResponse, now: number): Verdict {
    return judgeErrcode(response, now, 'DingTalk', DINGTALK_THROTTLE_CODES);
  }

  describe(): string {
    return describeReceiver(this.config);
  }
}

export interface DingTalkConfig extends ReceiverCommonConfig {
  type: 'dingtalk';
  /** Signing secret (SEC...), or null when the robot uses keywords / IP allow-lists. */
  secret: string | null;
  title: Template;
  text: Template;
  atMobiles: string[];
  atUserIds: string[];
  atAll: boolean;
}

export const dingtalkReceiver = defineReceiver({
  type: 'dingtalk',
  summary: 'DingTalk custom robot, markdown message.',
  options: z.strictObject({
    type: z.literal('dingtalk'),
    ...commonOptions({ messages: 20, perMs: 60_000 }),
    ...urlOptions('Robot webhook URL, https://oapi.dingtalk.com/robot/send?access_token=...'),
    secret: z.string().min(1).optional().describe(`Signing secret (SEC...) when the robot uses 加签. ${secretNote}`),
    secretFile: z.string().min(1).optional().describe('File holding the signing secret (instead of secret).'),
    title: templateOption('Title shown in the notification list'),
    text: templateOption('Markdown text (at most 20000 bytes; cut with a marker)'),
    atMobiles: z.array(z.string().min(1)).default([]).describe('Mobile numbers to @mention.'),
    atUserIds: z.array(z.string().min(1)).default([]).describe('DingTalk user ids to @mention.'),
    atAll: z.boolean().default(false).describe('@all.'),
  }),
  secretUrl: { what: "the robot's token" },
  defaultRateLimit: { messages: 20, perMs: 60_000 },
  resolve(o, ctx) {
    const secret = ctx.secret({
      key: 'secret',
      fileKey: 'secretFile',
      value: o.secret,
      fileValue: o.secretFile,
      what: 'the signing secret',
      inlineRefusal: 'it is the signing secret',
    });
    const title = ctx.template('title', o.title, DINGTALK_TITLE);
    const text = ctx.template('text', o.text, DINGTALK_TEXT);
    return title && text
      ? { ...ctx.common, type: 'dingtalk' as const, secret, title, text, atMobiles: o.atMobiles, atUserIds: o.atUserIds, atAll: o.atAll }
      : null;
  },
  create: (config) => new DingTalkReceiver(config),
});

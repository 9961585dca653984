/**
 * WeCom (企业微信) group robot: POST {"msgtype":"markdown","markdown":{"content":...}} to
 * https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...
 *
 * - The markdown content is limited to 4096 bytes (UTF-8): longer content is cut with a marker.
 * - Failures come back as HTTP 200 with errcode != 0; 45009 ("api freq out of limit", the robot's
 *   20 messages a minute) and 45033 (too many concurrent calls) are retried after the throttle
 *   backoff, -1 (busy) is retried, every other errcode is permanent.
 * - Mentions in markdown are `<@userid>` in the content.
 */
import type { Notification } from '../notification.js';
import { byteLength, truncateBytes } from '../truncate.js';
import { describeReceiver, judgeErrcode, jsonMessage } from './common.js';
import type { ReceiverCommonConfig, HttpRequest, HttpResponse, Receiver, RenderedMessage, Verdict } from './types.js';
import { z } from 'zod';
import { chatMarkdownEscape, CONFIG_NAMES, noEscape, type RenderOptions, type Template } from '../template.js';
import { WECOM_TEXT } from './defaults.js';
import { defineReceiver } from './definition.js';
import { commonOptions, templateOption, urlOptions } from './options.js';

export const WECOM_MAX_CONTENT_BYTES = 4096;

/** Record values in the markdown as text (template.ts chatMarkdownEscape: no <@userid>, <font>, links); the configured link as it is. */
const MARKDOWN: RenderOptions = { escape: chatMarkdownEscape, trusted: { names: CONFIG_NAMES, escape: noEscape } };
export const WECOM_THROTTLE_CODES: ReadonlySet<number> = new Set([45009, 45033]);

export class WeComReceiver implements Receiver {
  readonly name: string;
  readonly type = 'wecom' as const;

  constructor(readonly config: WeComConfig) {
    this.name = config.name;
  }

  render(n: Notification): RenderedMessage {
    const mentions = this.config.mentionUserIds.map((u) => `<@${u}>`).join(' ');
    const suffix = mentions ? `\n${mentions}` : '';
    const rendered = this.config.text.render(n.view, MARKDOWN).trim();
    const content = truncateBytes(rendered, WECOM_MAX_CONTENT_BYTES - byteLength(suffix)) + suffix;
    return jsonMessage({ msgtype: 'markdown', markdown: { content } }, content.length - suffix.length !== rendered.length);
  }

  request(message: RenderedMessage): HttpRequest {
    return { url: this.config.url, method: 'POST', headers: message.headers, body: message.body };
  }

  judge(response: HttpResponse, now: number): Verdict {
    return judgeErrcode(response, now, 'WeCom', WECOM_THROTTLE_CODES);
  }

  describe(): string {
    return describeReceiver(this.config);
  }
}

export interface WeComConfig extends ReceiverCommonConfig {
  type: 'wecom';
  text: Template;
  /** userids mentioned with <@userid> at the end of the message */
  mentionUserIds: string[];
}

export const wecomReceiver = defineReceiver({
  type: 'wecom',
  summary: 'WeCom (企业微信) group robot, markdown message.',
  options: z.strictObject({
    type: z.literal('wecom'),
    ...commonOptions({ messages: 20, perMs: 60_000 }),
    ...urlOptions('Group robot webhook URL, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...'),
    text: templateOption('Markdown content (at most 4096 bytes; cut with a marker)'),
    mentionUserIds: z.array(z.string().min(1)).default([]).describe('WeCom userids to mention (<@userid>).'),
  }),
  secretUrl: { what: "the robot's token" },
  defaultRateLimit: { messages: 20, perMs: 60_000 },
  resolve(o, ctx) {
    const text = ctx.template('text', o.text, WECOM_TEXT);
    return text ? { ...ctx.common, type: 'wecom' as const, text, mentionUserIds: o.mentionUserIds } : null;
  },
  create: (config) => new WeComReceiver(config),
});

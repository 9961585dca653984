/**
 * Slack incoming webhook: POST {"text": fallback, "blocks": [...]} (Block Kit) to
 * https://hooks.slack.com/services/T.../B.../...
 *
 * Blocks: a header (plain text, at most 150 characters), the text as mrkdwn section blocks of at
 * most 3000 characters each, and a context line; at most 50 blocks. The rendered text is first
 * cut to `maxTextChars` (default 12000) with a marker. Slack answers 200 "ok"; 429 carries
 * Retry-After; 4xx such as invalid_blocks or no_service are permanent.
 */
import type { Notification } from '../notification.js';
import { CONFIG_NAMES, plainTextEscape, slackEscape, slackLinkEscape, type RenderOptions } from '../template.js';
import { shorten, splitChunks, truncateChars } from '../truncate.js';
import { SLACK_FALLBACK } from './defaults.js';
import { compileTemplate } from '../template.js';
import { describeReceiver, judgeStatus, jsonMessage } from './common.js';
import type { ReceiverCommonConfig, HttpRequest, HttpResponse, Receiver, RenderedMessage, Verdict } from './types.js';
import { z } from 'zod';
import type { Template } from '../template.js';
import { SLACK_TEXT, SLACK_TITLE } from './defaults.js';
import { defineReceiver } from './definition.js';
import { commonOptions, positiveInt, templateOption, urlOptions } from './options.js';

export const SLACK_MAX_SECTION_CHARS = 3000;
export const SLACK_MAX_BLOCKS = 50;
export const SLACK_MAX_HEADER_CHARS = 150;
export const SLACK_MAX_FALLBACK_CHARS = 3000;
export const SLACK_DEFAULT_MAX_TEXT_CHARS = 12_000;

const fallbackTemplate = compileTemplate(SLACK_FALLBACK);

/** Record values as text in mrkdwn (template.ts slackEscape); the configured link with Slack's own escaping. */
const MRKDWN: RenderOptions = { escape: slackEscape, trusted: { names: CONFIG_NAMES, escape: slackLinkEscape } };

export interface SlackBlock {
  type: string;
  [key: string]: unknown;
}

export function slackBlocks(title: string, text: string, context: string, maxTextChars: number): { blocks: SlackBlock[]; truncated: boolean } {
  const blocks: SlackBlock[] = [];
  blocks.push({ type: 'header', text: { type: 'plain_text', text: shorten(title, SLACK_MAX_HEADER_CHARS) || 'kubevents', emoji: true } });
  const cut = truncateChars(text, Math.max(100, maxTextChars));
  let truncated = cut.length !== text.length;
  let chunks = splitChunks(cut, SLACK_MAX_SECTION_CHARS);
  const room = SLACK_MAX_BLOCKS - 2; // header and context
  if (chunks.length > room) {
    truncated = true;
    chunks = chunks.slice(0, room);
    chunks[room - 1] = truncateChars(`${chunks[room - 1] as string}\n…`, SLACK_MAX_SECTION_CHARS);
  }
  // verbatim: Slack does not turn bare URLs, channel names or @here into links and mentions
  for (const chunk of chunks) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk, verbatim: true } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncateChars(context, SLACK_MAX_SECTION_CHARS), verbatim: true }] });
  return { blocks, truncated };
}

export class SlackReceiver implements Receiver {
  readonly name: string;
  readonly type = 'slack' as const;

  constructor(readonly config: SlackConfig) {
    this.name = config.name;
  }

  render(n: Notification): RenderedMessage {
    const v = n.view;
    // the header is plain_text: no mrkdwn escaping
    const title = this.config.title.render(v, { escape: plainTextEscape }).replace(/\s+/g, ' ').trim();
    const text = this.config.text.render(v, MRKDWN).trim();
    const context = slackEscape(`kubevents · ${v.kind} ${v.id} · ${v.idempotencyKey}`);
    const { blocks, truncated } = slackBlocks(title, text, context, this.config.maxTextChars);
    const fallback = truncateChars(fallbackTemplate.render(v, MRKDWN), SLACK_MAX_FALLBACK_CHARS);
    return jsonMessage({ text: fallback, blocks }, truncated);
  }

  request(message: RenderedMessage): HttpRequest {
    return { url: this.config.url, method: 'POST', headers: message.headers, body: message.body };
  }

  judge(response: HttpResponse, now: number): Verdict {
    return judgeStatus(response, now);
  }

  describe(): string {
    return describeReceiver(this.config);
  }
}

export interface SlackConfig extends ReceiverCommonConfig {
  type: 'slack';
  title: Template;
  text: Template;
  /** Most characters of the rendered text before it is cut (spread over section blocks of 3000). */
  maxTextChars: number;
}

export const slackReceiver = defineReceiver({
  type: 'slack',
  summary: 'Slack incoming webhook, Block Kit message with fallback text.',
  options: z.strictObject({
    type: z.literal('slack'),
    ...commonOptions({ messages: 60, perMs: 60_000 }),
    ...urlOptions('Incoming webhook URL, https://hooks.slack.com/services/...'),
    title: templateOption('Header block, plain text (at most 150 characters)'),
    text: templateOption('mrkdwn text, split into section blocks of 3000 characters (at most 48)'),
    maxTextChars: positiveInt().max(144_000).default(12_000).describe('Most characters of the text before it is cut with a marker.'),
  }),
  secretUrl: { what: 'the webhook secret' },
  defaultRateLimit: { messages: 60, perMs: 60_000 },
  resolve(o, ctx) {
    const title = ctx.template('title', o.title, SLACK_TITLE);
    const text = ctx.template('text', o.text, SLACK_TEXT);
    return title && text ? { ...ctx.common, type: 'slack' as const, title, text, maxTextChars: o.maxTextChars } : null;
  },
  create: (config) => new SlackReceiver(config),
});

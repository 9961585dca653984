/**
 * Generic webhook: the record as JSON (the default), or a body rendered from a template, with
 * configured headers. A JSON content type means the rendered body must parse as JSON (template
 * values are JSON-string escaped, so `"text": "{{summary}}"` is safe); a body that does not, or
 * one over maxBodyBytes, is a permanent failure (dead-lettered, never sent).
 *
 * Headers sent with every request: X-Kubevents-Kind (Alert or Incident), X-Kubevents-Status
 * (firing or resolved) and X-Kubevents-Idempotency-Key, so the receiving side can de-duplicate.
 */
import type { Notification } from '../notification.js';
import { jsonStringEscape } from '../template.js';
import { byteLength } from '../truncate.js';
import { describeReceiver, judgeStatus } from './common.js';
import { RenderError, type ReceiverCommonConfig, type HttpRequest, type HttpResponse, type Receiver, type RenderedMessage, type Verdict } from './types.js';
import { z } from 'zod';
import type { Template } from '../template.js';
import { defineReceiver } from './definition.js';
import { commonOptions, headerOptions, positiveInt, templateOption, urlOptions, secretNote } from './options.js';

export const WEBHOOK_DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function isJsonContentType(contentType: string): boolean {
  return /^application\/([a-z0-9.+-]*\+)?json\b/i.test(contentType.trim());
}

export function notificationHeaders(n: Notification): Record<string, string> {
  return {
    'x-kubevents-kind': n.kind,
    'x-kubevents-status': n.status,
    'x-kubevents-idempotency-key': n.idempotencyKey,
  };
}

export class WebhookReceiver implements Receiver {
  readonly name: string;
  readonly type = 'webhook' as const;
  private readonly json: boolean;

  constructor(readonly config: WebhookConfig) {
    this.name = config.name;
    this.json = isJsonContentType(config.contentType);
  }

  render(n: Notification): RenderedMessage {
    const c = this.config;
    const body = c.body ? c.body.render(n.view, this.json ? { escape: jsonStringEscape } : {}) : n.view.json;
    if (c.body && this.json) {
      try {
        JSON.parse(body);
      } catch (error) {
        throw new RenderError(`the body template did not produce valid JSON: ${(error as Error).message}`);
      }
    }
    const bytes = byteLength(body);
    if (bytes > c.maxBodyBytes) throw new RenderError(`the body is ${bytes} bytes, over maxBodyBytes ${c.maxBodyBytes}`);
    return { body, headers: { 'content-type': c.contentType, ...notificationHeaders(n), ...c.headers }, truncated: false };
  }

  request(message: RenderedMessage): HttpRequest {
    return { url: this.config.url, method: this.config.method, headers: message.headers, body: message.body };
  }

  judge(response: HttpResponse, now: number): Verdict {
    return judgeStatus(response, now);
  }

  describe(): string {
    return describeReceiver(this.config);
  }
}

export interface WebhookConfig extends ReceiverCommonConfig {
  type: 'webhook';
  method: 'POST' | 'PUT';
  headers: Record<string, string>;
  contentType: string;
  /** null: the record as JSON */
  body: Template | null;
  /** Most bytes of the body; a longer rendered body is a permanent failure (dead-lettered). */
  maxBodyBytes: number;
}

export const webhookReceiver = defineReceiver({
  type: 'webhook',
  summary: 'Generic webhook: the record as JSON, or a body from a template.',
  options: z.strictObject({
    type: z.literal('webhook'),
    ...commonOptions(null),
    ...urlOptions('Endpoint. Inline only when it has no credentials and no query string; else'),
    method: z.enum(['POST', 'PUT']).default('POST'),
    headers: headerOptions(`Extra headers. Credentials (Authorization, *token*, *key*, ...) must be references: ${secretNote}`),
    contentType: z.string().min(1).default('application/json'),
    body: templateOption('Request body; default: the record as JSON'),
    maxBodyBytes: positiveInt()
      .default(1024 * 1024)
      .describe('Largest body sent; a larger one is dead-lettered.'),
  }),
  secretUrl: null,
  defaultRateLimit: null,
  resolve(o, ctx) {
    const headers = ctx.headers('headers', o.headers);
    const body = ctx.template('body', o.body, null);
    return { ...ctx.common, type: 'webhook' as const, method: o.method, headers, contentType: o.contentType, body, maxBodyBytes: o.maxBodyBytes };
  },
  create: (config) => new WebhookReceiver(config),
});

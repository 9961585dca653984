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
import { RenderError, type HttpRequest, type HttpResponse, type Receiver, type RenderedMessage, type Verdict, type WebhookConfig } from './types.js';

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

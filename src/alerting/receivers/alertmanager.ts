/**
 * Forwarding to a Prometheus Alertmanager: POST <url>/api/v2/alerts with a list of one
 * postable alert {labels, annotations, startsAt, endsAt?, generatorURL?}.
 *
 * - labels: the record's labels (alerts) or alertname=KubeIncident, correlation, subject, reason
 *   (incidents), plus severity, category, cluster and namespace; the receiver's fixed `labels`
 *   are added (record labels win). The same labels give Alertmanager the same alert, so firing
 *   and resolved records of one alert meet there.
 * - annotations: summary, description (a few lines of context), workload, node, containers,
 *   count, window, first/last seen, sample messages, and the record's own annotations.
 * - startsAt: the condition's start; endsAt: set on resolved records (the condition's end) and,
 *   with firingTtl, on firing ones (now + firingTtl). Without it Alertmanager resolves a firing
 *   alert that is not re-sent after its resolve_timeout (default 5m).
 */
import type { Alert } from '../../model/alert.js';
import type { Incident } from '../../model/incident.js';
import type { Notification } from '../notification.js';
import { describeReceiver, judgeStatus, jsonMessage } from './common.js';
import type { ReceiverCommonConfig, HttpRequest, HttpResponse, Receiver, RenderedMessage, Verdict } from './types.js';
import { z } from 'zod';
import { positiveDuration } from '../../core/duration.js';
import { CONFIG_NAMES, noEscape, urlComponentEscape, type Template } from '../template.js';
import { defineReceiver } from './definition.js';
import { commonOptions, headerOptions, templateOption, urlOptions, secretNote } from './options.js';

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Alertmanager's v2 alerts endpoint for a base URL (a URL already ending in /api/v2/alerts is kept). */
export function alertmanagerAlertsUrl(base: string): string {
  const u = new URL(base);
  if (!/\/api\/v2\/alerts\/?$/.test(u.pathname)) u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  return u.toString();
}

function cleanLabelSet(labels: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' || v === '') continue;
    out[LABEL_NAME.test(k) ? k : k.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(\d)/, '_$1')] = v;
  }
  return out;
}

export function postableAlert(
  n: Notification,
  config: Pick<AlertmanagerConfig, 'labels' | 'annotations' | 'firingTtlMs'>,
  now: number,
  generatorURL: string | null,
): PostableAlert {
  const v = n.view;
  const isAlert = n.kind === 'Alert';
  const record = n.record;
  const startsAtMs = isAlert ? (record as Alert).startsAt : (record as Incident).firstTime;
  let endsAtMs: number | null = null;
  if (n.status === 'resolved') endsAtMs = isAlert ? ((record as Alert).endsAt ?? (record as Alert).updatedAt) : (record as Incident).updatedAt;
  else if (config.firingTtlMs !== null) endsAtMs = now + config.firingTtlMs;
  const labels = cleanLabelSet({
    ...config.labels,
    ...v.labelMap,
    severity: v.severity,
    category: v.category,
    cluster: v.cluster,
    namespace: v.namespace,
  });
  const description = [
    v.object ? `Object: ${v.object}` : null,
    v.workload ? `Workload: ${v.workload}` : null,
    v.node ? `Node: ${v.node}` : null,
    ...v.containers.map((c) => `Container ${c.name}: ${c.state}`),
    `Events: ${v.count}${v.window ? ` within ${v.window}` : ''}, first seen ${v.firstSeen}, last seen ${v.lastSeen}`,
  ]
    .filter((x): x is string => x !== null)
    .join('\n');
  const annotations = cleanLabelSet({
    ...config.annotations,
    ...v.annotationMap,
    summary: v.summary,
    description,
    workload: v.workload,
    node: v.node,
    containers: v.containers.map((c) => `${c.name}: ${c.state}`).join('; '),
    count: String(v.count),
    window: v.window,
    first_seen: v.firstSeen,
    last_seen: v.lastSeen,
    sample_messages: v.samples.join('\n'),
    kubevents_idempotency_key: n.idempotencyKey,
  });
  const alert: PostableAlert = { labels, annotations, startsAt: new Date(startsAtMs).toISOString() };
  if (endsAtMs !== null) alert.endsAt = new Date(Math.max(endsAtMs, startsAtMs)).toISOString();
  if (generatorURL) alert.generatorURL = generatorURL;
  return alert;
}

/**
 * The generatorURL template rendered with record values percent-encoded (they cannot add a path, a
 * query or leave the URL; the configured link is taken as it is); a result that is not an http(s)
 * URL is left out, since Alertmanager refuses the whole alert for an invalid generatorURL.
 */
export function renderGeneratorUrl(template: Template, n: Notification): string | null {
  const url = template.render(n.view, { escape: urlComponentEscape, trusted: { names: CONFIG_NAMES, escape: noEscape } }).trim();
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : null;
  } catch {
    return null;
  }
}

export class AlertmanagerReceiver implements Receiver {
  readonly name: string;
  readonly type = 'alertmanager' as const;
  private readonly endpoint: string;

  constructor(
    readonly config: AlertmanagerConfig,
    private readonly externalUrl: string | null = null,
  ) {
    this.name = config.name;
    this.endpoint = alertmanagerAlertsUrl(config.url);
  }

  render(n: Notification, now: number): RenderedMessage {
    const generatorURL = this.config.generatorURL ? renderGeneratorUrl(this.config.generatorURL, n) : this.externalUrl;
    return jsonMessage([postableAlert(n, this.config, now, generatorURL)], false, this.config.headers);
  }

  request(message: RenderedMessage): HttpRequest {
    return { url: this.endpoint, method: 'POST', headers: message.headers, body: message.body };
  }

  judge(response: HttpResponse, now: number): Verdict {
    return judgeStatus(response, now);
  }

  describe(): string {
    return describeReceiver(this.config);
  }
}

export interface AlertmanagerConfig extends ReceiverCommonConfig {
  type: 'alertmanager';
  headers: Record<string, string>;
  /** Template of generatorURL; null: the configured externalUrl, else none. */
  generatorURL: Template | null;
  /** Fixed labels added to every alert (record labels win). */
  labels: Record<string, string>;
  /** Fixed annotations added to every alert. */
  annotations: Record<string, string>;
  /** Firing alerts get endsAt = now + firingTtl, so Alertmanager keeps them firing that long without a re-send; null: no endsAt. */
  firingTtlMs: number | null;
}

export const alertmanagerReceiver = defineReceiver({
  type: 'alertmanager',
  summary: 'Forward to a Prometheus Alertmanager (API v2).',
  options: z.strictObject({
    type: z.literal('alertmanager'),
    ...commonOptions(null),
    ...urlOptions(
      'Alertmanager base URL, e.g. http://alertmanager:9093 (POST /api/v2/alerts is appended). Inline only without credentials and query string; else',
    ),
    headers: headerOptions(`Extra headers, e.g. Authorization: \${env:AM_AUTH}. ${secretNote}`),
    generatorURL: templateOption('generatorURL of each alert; default the top-level externalUrl'),
    labels: z
      .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'a label name: letters, digits and _' }), z.string())
      .default({})
      .describe('Fixed labels added to every alert (record labels win).'),
    annotations: z.record(z.string(), z.string()).default({}).describe('Fixed annotations added to every alert.'),
    firingTtl: positiveDuration()
      .optional()
      .describe(
        "Firing alerts get endsAt = now + firingTtl, so Alertmanager keeps them firing that long without a re-send. Default none (Alertmanager's resolve_timeout applies).",
      ),
  }),
  secretUrl: null,
  defaultRateLimit: null,
  resolve(o, ctx) {
    const headers = ctx.headers('headers', o.headers);
    const generatorURL = ctx.template('generatorURL', o.generatorURL, null);
    return {
      ...ctx.common,
      type: 'alertmanager' as const,
      headers,
      generatorURL,
      labels: o.labels,
      annotations: o.annotations,
      firingTtlMs: o.firingTtl ?? null,
    };
  },
  create: (config, { externalUrl }) => new AlertmanagerReceiver(config, externalUrl),
});

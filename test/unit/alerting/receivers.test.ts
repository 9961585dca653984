import { describe, expect, it } from 'vitest';
import { alertNotification, incidentNotification } from '../../../src/alerting/notification.js';
import { createReceiver } from '../../../src/alerting/receivers/registry.js';
import { type HttpResponse, type Receiver, type ReceiverConfig } from '../../../src/alerting/receivers/types.js';
import { dingTalkSign, signedDingTalkUrl, DINGTALK_MAX_TEXT_BYTES } from '../../../src/alerting/receivers/dingtalk.js';
import { WECOM_MAX_CONTENT_BYTES } from '../../../src/alerting/receivers/wecom.js';
import { SLACK_MAX_BLOCKS, SLACK_MAX_SECTION_CHARS } from '../../../src/alerting/receivers/slack.js';
import { alertmanagerAlertsUrl } from '../../../src/alerting/receivers/alertmanager.js';
import { RenderError } from '../../../src/alerting/receivers/types.js';
import { byteLength } from '../../../src/alerting/truncate.js';
import { configFrom, resolvedAlert, sampleAlert, sampleIncident, T0 } from './fixtures.js';

const ENV = {
  DT_URL: 'https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef',
  DT_SECRET: 'this is secret',
  WECOM_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx',
  SLACK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
  HOOK_AUTH: 'Bearer s3cr3t-token',
};

const CONFIG = configFrom(
  `
externalUrl: https://grafana.example.com/d/k
route: { receiver: dt }
receivers:
  - { name: dt, type: dingtalk, url: "\${env:DT_URL}", secret: "\${env:DT_SECRET}", atMobiles: ["13800000000"] }
  - { name: dt-plain, type: dingtalk, url: "\${env:DT_URL}" }
  - { name: wc, type: wecom, url: "\${env:WECOM_URL}", mentionUserIds: [zhangsan] }
  - { name: sl, type: slack, url: "\${env:SLACK_URL}" }
  - { name: wh, type: webhook, url: "http://hooks.internal/kubevents", headers: { Authorization: "\${env:HOOK_AUTH}", X-Team: platform } }
  - name: wh-tpl
    type: webhook
    url: http://hooks.internal/t
    body: '{"text": "{{title}}: {{summary}}", "severity": "{{severity}}", "samples": [{{#samples}}"{{.}}",{{/samples}}"end"]}'
  - name: wh-bad
    type: webhook
    url: http://hooks.internal/t
    body: '{"text": {{summary}}}'
  - { name: am, type: alertmanager, url: "http://alertmanager:9093", labels: { source: kubevents, severity: ignored }, firingTtl: 1h }
`,
  ENV,
);

function receiver(name: string, patch: Partial<ReceiverConfig> = {}): Receiver {
  const rc = CONFIG.receivers.find((r) => r.name === name) as ReceiverConfig;
  return createReceiver({ ...rc, ...patch } as ReceiverConfig, { externalUrl: CONFIG.externalUrl });
}

const ok = (body: unknown, status = 200, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const firing = alertNotification(sampleAlert(), { externalUrl: CONFIG.externalUrl, timeZone: 'Asia/Shanghai' });
const resolved = alertNotification(resolvedAlert(), { externalUrl: CONFIG.externalUrl });

describe('DingTalk signing', () => {
  it('matches the reference vector (HMAC-SHA256 of "timestamp\\nsecret", base64)', () => {
    // computed independently with the Python code of DingTalk's documentation and with openssl:
    //   printf '1577836800000\nthis is secret' | openssl dgst -sha256 -hmac 'this is secret' -binary | base64
    expect(dingTalkSign('this is secret', 1577836800000)).toBe('fFV9t5lBS7KH4+5B0JjR99ab+AJkXFauQXycgTkS/tc=');
  });

  it('adds timestamp and the URL-encoded sign as query parameters, keeping access_token', () => {
    const url = signedDingTalkUrl(ENV.DT_URL, 'this is secret', 1577836800000);
    expect(url).toBe(`${ENV.DT_URL}&timestamp=1577836800000&sign=fFV9t5lBS7KH4%2B5B0JjR99ab%2BAJkXFauQXycgTkS%2Ftc%3D`);
    const u = new URL(url);
    expect(u.searchParams.get('access_token')).toBe('0123456789abcdef');
    expect(u.searchParams.get('sign')).toBe('fFV9t5lBS7KH4+5B0JjR99ab+AJkXFauQXycgTkS/tc=');
  });

  it('signs every attempt with its own timestamp; an unsigned robot gets the URL as is', () => {
    const r = receiver('dt');
    const m = r.render(firing, T0);
    expect(new URL(r.request(m, 1000).url).searchParams.get('timestamp')).toBe('1000');
    expect(new URL(r.request(m, 2000).url).searchParams.get('sign')).toBe(dingTalkSign('this is secret', 2000));
    expect(receiver('dt-plain').request(m, 1000).url).toBe(ENV.DT_URL);
  });
});

describe('message formats', () => {
  it('DingTalk: markdown with title, context, samples and @mentions', () => {
    const body = JSON.parse(receiver('dt').render(firing, T0).body);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe('[FIRING] PodCrashLooping: Pod shop/web-7d9f-abcde');
    const text: string = body.markdown.text;
    for (const part of [
      '### 🔥 [FIRING] PodCrashLooping: Pod shop/web-7d9f-abcde',
      'Severity: **ERROR** · Category: CrashLoop',
      'Cluster: prod-1 · Namespace: shop',
      'Workload: Deployment/web',
      'Node: node-1',
      'Container app: CrashLoopBackOff, last terminated OOMKilled (exit code 137), 12 restarts, not ready',
      'Events: 6 within 5m',
      'First seen: 2025-01-15 16:26:00 GMT+8',
      '> Container app exceeded its memory limit',
      '[Details](https://grafana.example.com/d/k)',
    ]) {
      expect(text).toContain(part);
    }
    expect(text.endsWith('@13800000000')).toBe(true);
    expect(body.at).toEqual({ atMobiles: ['13800000000'], atUserIds: [], isAtAll: false });
    const res = JSON.parse(receiver('dt').render(resolved, T0).body).markdown.text as string;
    expect(res).toContain('✅ [RESOLVED]');
    expect(res).toContain('Resolved: 2025-01-15 08:40:00 UTC (lasted 10m)');
  });

  it('WeCom: markdown content with colours and mentions', () => {
    const body = JSON.parse(receiver('wc').render(firing, T0).body);
    expect(Object.keys(body)).toEqual(['msgtype', 'markdown']);
    expect(body.markdown.content).toMatch(/^<font color="warning">🔥 FIRING<\/font> \*\*PodCrashLooping: Pod shop\/web-7d9f-abcde\*\*\n> 6 BackOff within 5m /);
    expect(body.markdown.content).toContain('> Container app: <font color="comment">CrashLoopBackOff');
    expect(body.markdown.content.endsWith('\n<@zhangsan>')).toBe(true);
  });

  it('Slack: header, mrkdwn sections, context, fallback text, escaping', () => {
    const n = alertNotification(sampleAlert({ summary: 'a <b> & c' }), { externalUrl: CONFIG.externalUrl });
    const body = JSON.parse(receiver('sl').render(n, T0).body);
    expect(body.text).toBe('[FIRING] PodCrashLooping: Pod shop/web-7d9f-abcde: a &lt;b&gt; &amp; c');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🔥 [FIRING] PodCrashLooping: Pod shop/web-7d9f-abcde', emoji: true } });
    expect(body.blocks[1].type).toBe('section');
    expect(body.blocks[1].text.type).toBe('mrkdwn');
    expect(body.blocks[1].text.text).toMatch(/^\*a &lt;b&gt; &amp; c\*\n\*Severity:\* ERROR/);
    expect(body.blocks[1].text.text).toContain('<https://grafana.example.com/d/k|Details>');
    expect(body.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `kubevents · Alert ${n.id} · ${n.idempotencyKey}`, verbatim: true }],
    });
  });

  it('webhook: the record as JSON by default, with identifying headers and resolved header secrets', () => {
    const m = receiver('wh').render(firing, T0);
    expect(JSON.parse(m.body)).toEqual(sampleAlert());
    expect(m.headers).toMatchObject({
      'content-type': 'application/json',
      'x-kubevents-kind': 'Alert',
      'x-kubevents-status': 'firing',
      'x-kubevents-idempotency-key': firing.idempotencyKey,
      authorization: 'Bearer s3cr3t-token',
      'x-team': 'platform',
    });
  });

  it('webhook: a template renders JSON-escaped values; invalid JSON is refused, never sent', () => {
    const n = alertNotification(sampleAlert({ summary: 'quote " and\nnewline', sampleMessages: ['x "y"'] }));
    expect(JSON.parse(receiver('wh-tpl').render(n, T0).body)).toEqual({
      text: 'PodCrashLooping: Pod shop/web-7d9f-abcde: quote " and\nnewline',
      severity: 'error',
      samples: ['x "y"', 'end'],
    });
    expect(() => receiver('wh-bad').render(n, T0)).toThrow(RenderError);
    expect(() => receiver('wh', { maxBodyBytes: 100 } as Partial<ReceiverConfig>).render(n, T0)).toThrow(/over maxBodyBytes/);
  });

  it('Alertmanager: POST /api/v2/alerts with labels, annotations, startsAt, endsAt only when resolved (or with firingTtl)', () => {
    expect(alertmanagerAlertsUrl('http://am:9093')).toBe('http://am:9093/api/v2/alerts');
    expect(alertmanagerAlertsUrl('http://am:9093/prefix/')).toBe('http://am:9093/prefix/api/v2/alerts');
    expect(alertmanagerAlertsUrl('http://am:9093/api/v2/alerts')).toBe('http://am:9093/api/v2/alerts');
    const r = receiver('am', { firingTtlMs: null } as Partial<ReceiverConfig>);
    const m = r.render(firing, T0 + 1000);
    expect(r.request(m, T0).url).toBe('http://alertmanager:9093/api/v2/alerts');
    const [a] = JSON.parse(m.body);
    expect(a.labels).toEqual({
      alertname: 'PodCrashLooping',
      cluster: 'prod-1',
      namespace: 'shop',
      kind: 'Pod',
      name: 'web-7d9f-abcde',
      reason: 'BackOff',
      severity: 'error',
      category: 'CrashLoop',
      source: 'kubevents',
    });
    expect(a.startsAt).toBe(new Date(T0).toISOString());
    expect(a.endsAt).toBeUndefined();
    expect(a.generatorURL).toBe('https://grafana.example.com/d/k');
    expect(a.annotations.summary).toBe(sampleAlert().summary);
    expect(a.annotations.description).toContain('Container app: CrashLoopBackOff, last terminated OOMKilled (exit code 137)');
    const [b] = JSON.parse(r.render(resolved, T0).body);
    expect(b.endsAt).toBe(new Date(T0 + 600_000).toISOString());
    const [c] = JSON.parse(receiver('am').render(firing, T0 + 1000).body);
    expect(c.endsAt).toBe(new Date(T0 + 1000 + 3_600_000).toISOString());
    const [inc] = JSON.parse(r.render(incidentNotification(sampleIncident({ status: 'closed', updatedAt: T0 + 90_000 })), T0).body);
    expect(inc.labels).toMatchObject({
      alertname: 'KubeIncident',
      correlation: 'node',
      subject: 'Node/node-3',
      reason: 'NodeNotReady',
      node: 'node-3',
      severity: 'critical',
    });
    expect(inc.endsAt).toBe(new Date(T0 + 90_000).toISOString());
  });
});

describe('platform limits', () => {
  const huge = alertNotification(
    sampleAlert({
      summary: '节点内存不足，容器被终止。'.repeat(3000),
      sampleMessages: Array.from({ length: 5 }, (_, i) => `message ${i} ${'é'.repeat(5000)}`),
    }),
    { maxSampleChars: 100_000 },
  );

  it('DingTalk markdown text stays within 20000 bytes, mentions kept', () => {
    const body = JSON.parse(receiver('dt').render(huge, T0).body);
    expect(byteLength(body.markdown.text)).toBeLessThanOrEqual(DINGTALK_MAX_TEXT_BYTES);
    expect(body.markdown.text).toContain('…(truncated)');
    expect(body.markdown.text.endsWith('@13800000000')).toBe(true);
    expect(receiver('dt').render(huge, T0).truncated).toBe(true);
  });

  it('WeCom markdown content stays within 4096 bytes', () => {
    const body = JSON.parse(receiver('wc').render(huge, T0).body);
    expect(byteLength(body.markdown.content)).toBeLessThanOrEqual(WECOM_MAX_CONTENT_BYTES);
    expect(body.markdown.content).toContain('…(truncated)');
  });

  it('Slack: sections of at most 3000 characters, at most 50 blocks, header at most 150', () => {
    for (const maxTextChars of [12_000, 144_000]) {
      const body = JSON.parse(receiver('sl', { maxTextChars } as Partial<ReceiverConfig>).render(huge, T0).body);
      expect(body.blocks.length).toBeLessThanOrEqual(SLACK_MAX_BLOCKS);
      for (const b of body.blocks.filter((x: { type: string }) => x.type === 'section'))
        expect(b.text.text.length).toBeLessThanOrEqual(SLACK_MAX_SECTION_CHARS);
      expect(body.blocks[0].text.text.length).toBeLessThanOrEqual(150);
      expect(body.text.length).toBeLessThanOrEqual(3000);
    }
  });
});

describe('verdicts', () => {
  const dt = receiver('dt');
  const wc = receiver('wc');
  const sl = receiver('sl');

  it('DingTalk and WeCom: HTTP 200 with errcode != 0 is a failure; throttling codes and -1 are retried', () => {
    expect(dt.judge(ok({ errcode: 0, errmsg: 'ok' }), T0)).toEqual({ ok: true });
    expect(dt.judge(ok({ errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' }), T0)).toMatchObject({
      ok: false,
      retryable: true,
      cause: 'throttled',
    });
    expect(dt.judge(ok({ errcode: 410100, errmsg: 'send too fast' }), T0)).toMatchObject({ retryable: true, cause: 'throttled' });
    expect(dt.judge(ok({ errcode: -1, errmsg: 'system busy' }), T0)).toMatchObject({ retryable: true, cause: 'errcode' });
    expect(dt.judge(ok({ errcode: 310000, errmsg: 'sign not match' }), T0)).toMatchObject({
      ok: false,
      retryable: false,
      detail: 'DingTalk errcode 310000: sign not match',
    });
    expect(dt.judge(ok('<html>proxy</html>'), T0)).toMatchObject({ retryable: false, cause: 'bad_response' });
    expect(wc.judge(ok({ errcode: 45009, errmsg: 'api freq out of limit' }), T0)).toMatchObject({ retryable: true, cause: 'throttled' });
    expect(wc.judge(ok({ errcode: 93000, errmsg: 'invalid webhook url' }), T0)).toMatchObject({ retryable: false, cause: 'errcode' });
  });

  it('HTTP: 5xx, 429 and 408 are retried with Retry-After; redirects and other 4xx are permanent', () => {
    expect(sl.judge(ok('ok'), T0)).toEqual({ ok: true });
    expect(sl.judge(ok('rate_limited', 429, { 'retry-after': '7' }), T0)).toMatchObject({ retryable: true, cause: 'http_429', retryAfterMs: 7000 });
    expect(sl.judge(ok('', 503, { 'retry-after': new Date(T0 + 3000).toUTCString() }), T0)).toMatchObject({
      retryable: true,
      cause: 'http_5xx',
      retryAfterMs: 3000,
    });
    expect(sl.judge(ok('', 408), T0)).toMatchObject({ retryable: true });
    expect(sl.judge(ok('invalid_blocks', 400), T0)).toMatchObject({ retryable: false, cause: 'http_4xx', detail: 'HTTP 400: invalid_blocks' });
    expect(sl.judge(ok('no_service', 404), T0)).toMatchObject({ retryable: false });
    expect(sl.judge(ok('', 301, { location: 'https://elsewhere' }), T0)).toMatchObject({ retryable: false, cause: 'http_3xx' });
  });

  it('describes receivers without their secrets', () => {
    expect(dt.describe()).toBe('dingtalk "dt" https://oapi.dingtalk.com/[redacted]');
    expect(sl.describe()).toBe('slack "sl" https://hooks.slack.com/[redacted]');
    expect(receiver('wh').describe()).toBe('webhook "wh" http://hooks.internal/kubevents');
  });
});

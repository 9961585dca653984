import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AlertsConfigError, parseAlertsConfig, type LoadOptions } from '../../../src/alerting/load-config.js';
import { describeRoute } from '../../../src/alerting/routing.js';
import { formatDiagnostic } from '../../../src/core/diagnostics.js';
import { packageRoot } from '../../../src/core/paths.js';

const EXAMPLE = join(packageRoot(), 'deploy', 'alerts.example.yaml');
const ENV = {
  KAFKA_BROKERS: 'kafka-0:9092, kafka-1:9092',
  DINGTALK_WEBHOOK_URL: 'https://oapi.dingtalk.com/robot/send?access_token=abc123def456',
  SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
  PAYMENTS_HOOK_AUTH: 'Bearer pay-token-123',
};
const FILES: Record<string, string> = {
  '/etc/kubevents/dingtalk/secret': 'SECabcdef0123456789\n',
  '/etc/kubevents/wecom/url': 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key-0001\n',
};
const OPTIONS: LoadOptions = {
  env: ENV,
  readFile: (path) => {
    const text = FILES[path];
    if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return text;
  },
};

/** Diagnostics of a configuration text, formatted `line:col: severity: message (hint)`. */
function problems(text: string, options: LoadOptions = OPTIONS): string[] {
  return parseAlertsConfig(text, 'a.yaml', options).diagnostics.map((d) => formatDiagnostic(d).replace(/^a\.yaml:/, ''));
}

const BASE = `kafka:
  brokers: [localhost:9092]
route:
  receiver: hook
receivers:
  - name: hook
    type: webhook
    url: http://hooks.internal/x
`;

describe('alerts configuration', () => {
  it('loads the example file of deploy/ with its secrets from env and files', () => {
    const r = parseAlertsConfig(readFileSync(EXAMPLE, 'utf8'), EXAMPLE, OPTIONS);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    const c = r.config!;
    expect(c.kafka.brokers).toEqual(['kafka-0:9092', 'kafka-1:9092']);
    expect(c.consumer).toMatchObject({
      groupId: 'kubevents-alerts',
      topics: ['k8s.alerts', 'k8s.incidents'],
      fromBeginning: false,
      concurrency: 4,
      sessionTimeoutMs: 30_000,
    });
    expect(c.deadLetter).toEqual({ topic: 'k8s.deadletter', encoding: 'confluent' });
    expect(c.timeZone).toBe('Asia/Shanghai');
    const byName = Object.fromEntries(c.receivers.map((x) => [x.name, x]));
    expect(byName['oncall-dingtalk']).toMatchObject({
      url: ENV.DINGTALK_WEBHOOK_URL,
      secret: 'SECabcdef0123456789',
      atMobiles: ['13800000000'],
      rateLimit: { messages: 20, perMs: 60_000 },
      timeoutMs: 5000,
      urlIsSecret: true,
    });
    expect(byName['platform-wecom']).toMatchObject({ url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-key-0001' });
    expect(byName['payments-webhook']).toMatchObject({ headers: { authorization: 'Bearer pay-token-123' }, urlIsSecret: false, rateLimit: null });
    expect(byName['alertmanager']).toMatchObject({ firingTtlMs: 3_600_000, labels: { source: 'kubevents' } });
    expect(byName['oncall-dingtalk']?.retry).toEqual({
      maxAttempts: 6,
      initialBackoffMs: 1000,
      maxBackoffMs: 60_000,
      maxRetryAfterMs: 300_000,
      throttleBackoffMs: 30_000,
    });
    expect(describeRoute(c.route)).toContain('{severity=~"critical|error"} -> oncall-dingtalk (continue)');
    // every resolved secret is known to the redactor
    expect(c.redactor.redact(`x ${ENV.SLACK_WEBHOOK_URL} y abc123def456 SECabcdef0123456789 Bearer pay-token-123`)).toBe(
      'x [redacted] y [redacted] [redacted] [redacted]',
    );
  });

  it('reports shape errors with line, column and a hint', () => {
    const text = `kafka:
  brokers: [localhost:9092]
  clientID: x
consumer:
  sessionTimeout: 30
route:
  receiver: hook
receivers:
  - name: hook
    type: webhok
    url: http://hooks.internal/x
  - name: am
    type: alertmanager
    url: http://am:9093
    retry: { maxAttempts: 0 }
`;
    expect(problems(text)).toEqual([
      '3:3: error: unknown field "kafka.clientID" (did you mean "clientId"?)',
      '5:19: error: field "consumer.sessionTimeout": expected a duration such as 30s, 5m or 1h30m, got number 30 (a duration needs a unit: ms, s, m, h or d)',
      '10:11: error: receiver "hook" (webhok): unknown type "webhok" (did you mean "webhook"?)',
      '15:27: error: receiver "am" (alertmanager) field "retry.maxAttempts" must be >= 1',
    ]);
  });

  it('refuses inline secrets, and masks them in the error excerpts', () => {
    const text = `kafka:
  brokers: [localhost:9092]
  sasl: { mechanism: scram-sha-512, username: kv, password: hunter22 }
route: { receiver: dt }
receivers:
  - name: dt
    type: dingtalk
    url: https://oapi.dingtalk.com/robot/send?access_token=abc123
    secret: SEC0123456789
  - name: hook
    type: webhook
    url: https://user:pw@hooks.internal/x
    headers: { Authorization: Bearer abc, X-Team: platform }
`;
    const r = parseAlertsConfig(text, 'a.yaml', OPTIONS);
    expect(r.config).toBeNull();
    expect(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([
      '8:10: receiver "dt" (dingtalk) field "url" must not be written inline: a dingtalk webhook URL carries the robot\'s token',
      '9:13: receiver "dt" (dingtalk) field "secret" must not be written inline: it is the signing secret',
      '12:10: receiver "hook" (webhook) field "url" must not be written inline: the URL carries credentials or a query string',
      '13:31: receiver "hook" (webhook) field "headers.Authorization" must not be written inline: header Authorization carries a credential',
      '3:61: field "kafka.sasl.password" must not be written inline: it is a password',
    ]);
    expect(r.diagnostics[0]?.hint).toMatch(/url: \$\{env:NAME\}.*urlFile/);
    const shown = new AlertsConfigError(r.diagnostics, r.text).message;
    for (const secret of ['hunter22', 'access_token=abc123', 'SEC0123456789', 'user:pw', 'Bearer abc']) expect(shown).not.toContain(secret);
    expect(shown).toContain('X-Team: platform'); // the rest of the line is shown
  });

  it('reports references that cannot be resolved, without their values', () => {
    const text = `kafka:
  brokers: ["\${env:BROKERS}"]
route: { receiver: sl }
receivers:
  - { name: sl, type: slack, url: "\${env:SLACK_URL}" }
  - { name: wc, type: wecom, urlFile: /missing/file }
  - { name: dt, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=\${env:TOKEN}" }
  - { name: bad, type: slack, url: "\${env:NOT_A_URL}" }
`;
    const out = problems(text, { ...OPTIONS, env: { NOT_A_URL: 'hooks.slack.com/secret-part' } });
    expect(out).toEqual([
      '5:35: error: receiver "sl" (slack) field "url": environment variable SLACK_URL is not set (set it in the container spec, e.g. from a Kubernetes Secret with valueFrom.secretKeyRef)',
      '6:39: error: receiver "wc" (wecom) field "urlFile": cannot read secret file /missing/file (ENOENT) (mount the secret as a file, e.g. from a Kubernetes Secret volume)',
      '7:38: error: receiver "dt" (dingtalk) field "url": a reference must be the whole value (put the whole value in the variable or file: url: ${env:NAME})',
      '8:36: error: receiver "bad" (slack) field "url" is not a valid URL (the value is not shown: it is a secret) (e.g. https://host/path)',
      '2:13: error: field "kafka.brokers[0]": environment variable BROKERS is not set (set it in the container spec, e.g. from a Kubernetes Secret with valueFrom.secretKeyRef)',
    ]);
    expect(out.join('\n')).not.toContain('secret-part');
  });

  it('checks routes: receivers exist, matchers parse, the root takes everything', () => {
    const text = `${BASE.replace(
      '  receiver: hook\n',
      `  receiver: hook
  matchers: ['severity="critical"']
  routes:
    - matchers: ['severity=~"critical|error"', 'team=payments"']
      receiver: hoook
    - matchers: ['namespace=~"(kube"']
`,
    )}  - name: spare
    type: webhook
    url: http://hooks.internal/y
`;
    expect(problems(text)).toEqual([
      '5:13: error: the root route must not have matchers: it takes every record (move them to a child route under route.routes)',
      '7:48: error: field "route.routes[0].matchers[1]": unbalanced quote in value payments" (quote the whole value: name="value")',
      '8:17: error: field "route.routes[0].receiver": no receiver named "hoook" (did you mean "hook"?)',
      '9:18: error: field "route.routes[1].matchers[0]": invalid regular expression in "namespace=~\\"(kube\\"": /^(?:(kube)$/s: Unterminated group',
    ]);
    const ok = problems(BASE + `  - name: spare\n    type: webhook\n    url: http://hooks.internal/y\n`);
    expect(ok).toEqual(['9:11: warning: receiver "spare" is not used by any route']);
  });

  it('checks templates: syntax and misspelt names, with the position inside the template', () => {
    const text = `${BASE}  - name: dt
    type: dingtalk
    url: "\${env:DT}"
    title: "{{statusText}} {{titel}}"
    text: |
      {{#containers}}
      - {{name}}: {{sate}}
`;
    const env = { ...ENV, DT: 'https://oapi.dingtalk.com/robot/send?access_token=x' };
    expect(problems(text, { ...OPTIONS, env }).filter((p) => p.includes('error'))).toEqual([
      '12:12: error: receiver "dt" (dingtalk) field "title": unknown name {{titel}} (template line 1, column 16) (did you mean "title"?)',
      '13:11: error: receiver "dt" (dingtalk) field "text": template section {{#containers}} is never closed (template line 1, column 1) (tags: {{name}}, {{{raw}}}, {{#section}}...{{/section}}, {{^inverted}}...{{/inverted}})',
    ]);
  });

  it('checks the rest: time zone, dead-letter encoding, heartbeat, YAML syntax', () => {
    expect(problems(`${BASE}timeZone: Mars/Olympus\ndeadLetter: { encoding: confluent }\nconsumer: { heartbeatInterval: 30s, sessionTimeout: 10s }\n`)).toEqual(
      [
        '9:11: error: unknown time zone "Mars/Olympus" (an IANA name such as UTC, Asia/Shanghai or Europe/Berlin)',
        '10:25: error: dead letters in the confluent encoding need schemaRegistry (add schemaRegistry.url, or use encoding: raw)',
        '11:32: error: consumer.heartbeatInterval must be shorter than consumer.sessionTimeout (about a third of it, e.g. 3s for 10s)',
      ],
    );
    expect(problems('kafka: [\n')[0]).toMatch(/^2:1: error: YAML: /);
    expect(problems('- a\n- b\n')).toEqual(['1:1: error: the alerts configuration is a map with kafka, route and receivers; got a list']);
  });
});

/**
 * Untrusted text stays text. Event messages, reasons and object names are written by whatever runs
 * in the cluster; they reach the chat platforms inside markdown. A test per receiver renders an
 * Alert and an Incident whose every text field is hostile (links, images, mentions of everyone and
 * of users, formatting, headings, forged lines, HTML, JSON breakers, bidi overrides) and checks the
 * request body it would send: no link, mention, image or formatting comes from the record, the JSON
 * parses, the configured mentions and link are the only ones, and the text is still readable.
 */
import { describe, expect, it } from 'vitest';
import { alertNotification, incidentNotification, type Notification } from '../../../src/alerting/notification.js';
import { createReceiver } from '../../../src/alerting/receivers/registry.js';
import type { Receiver, ReceiverConfig } from '../../../src/alerting/receivers/types.js';
import type { Alert } from '../../../src/model/alert.js';
import type { Incident } from '../../../src/model/incident.js';
import { configFrom, sampleAlert, sampleIncident } from './fixtures.js';

/** Each line is one attack; joined, they are one hostile message. */
const ATTACKS = [
  '[click here](https://evil.example/phish)',
  '![pixel](https://evil.example/track.png)',
  '<https://evil.example/s|Slack link>',
  '<!channel> <!here> <!everyone> <!subteam^S123>',
  '<@U0123ABC> <@zhangsan> <#C0123ABC>',
  '@all @13800000000 @here @channel',
  '**bold** __bold__ *it* _it_ ~strike~ ~~strike~~ `code` ```block```',
  '# Heading',
  '> quoted',
  '<font color="warning">red</font></font><b>html</b><!-- c -->',
  'https://evil.example/bare www.evil.example',
  '"}, "injected": {"x": "',
  'back\\slash\\',
  '\u202egnp.exe\u202c \u0000\u0007\u001b[31m',
];
const HOSTILE = ATTACKS.join('\n- Forged: line\n');

/** Substrings none of which may reach a chat message from the record. */
const FORBIDDEN = [
  '[click here]',
  '](https://evil',
  '![pixel]',
  '<https://evil',
  '|Slack link>',
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<!subteam',
  '<@U0123ABC>',
  '<@zhangsan>',
  '<#C0123ABC>',
  '@all',
  '@13800000000',
  '@here',
  '@channel',
  '**bold**',
  '__bold__',
  '*it*',
  '_it_',
  '~strike~',
  '`code`',
  '# Heading',
  '<font color="warning">red',
  '</font></font>',
  '<b>',
  '<!--',
  'https://evil',
  'www.evil',
  '\n- Forged',
  '\u202e',
  '\u0000',
  '\u001b',
];

const ENV = {
  DT_URL: 'https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef',
  WECOM_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx',
  SLACK_URL: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX',
};
const CONFIG = configFrom(
  `
externalUrl: https://grafana.example.com/d/k?var-ns=all&x=1
route: { receiver: dt }
receivers:
  - { name: dt, type: dingtalk, url: "\${env:DT_URL}", atMobiles: ["13900000000"] }
  - { name: wc, type: wecom, url: "\${env:WECOM_URL}", mentionUserIds: [lisi] }
  - { name: sl, type: slack, url: "\${env:SLACK_URL}" }
  - { name: wh, type: webhook, url: "http://hooks.internal/kubevents" }
  - name: wh-tpl
    type: webhook
    url: http://hooks.internal/t
    body: '{"text": "{{title}}: {{summary}}", "object": "{{object}}", "samples": [{{#samples}}"{{.}}",{{/samples}}"end"], "members": [{{#members}}"{{message}}",{{/members}}"end"]}'
  - { name: am, type: alertmanager, url: "http://alertmanager:9093", generatorURL: "https://grafana.example.com/explore?ns={{namespace}}&obj={{object}}" }
`,
  ENV,
);

function receiver(name: string): Receiver {
  const rc = CONFIG.receivers.find((r) => r.name === name) as ReceiverConfig;
  return createReceiver(rc, { externalUrl: CONFIG.externalUrl });
}

const hostileAlert = (): Alert =>
  sampleAlert({
    labels: { alertname: `Pod${HOSTILE}`, namespace: `shop${HOSTILE}`, kind: 'Pod', name: `web-1${HOSTILE}`, reason: HOSTILE, [`team${HOSTILE}`]: HOSTILE },
    annotations: { message: HOSTILE, [`note${HOSTILE}`]: HOSTILE },
    namespace: `shop${HOSTILE}`,
    cluster: `prod${HOSTILE}`,
    summary: `BackOff on Pod: ${HOSTILE}`,
    node: `node-1${HOSTILE}`,
    workload: { kind: `Deployment${HOSTILE}`, name: `web${HOSTILE}`, uid: null },
    containers: [
      {
        name: `app${HOSTILE}`,
        ready: false,
        restartCount: 3,
        waitingReason: HOSTILE,
        waitingMessage: HOSTILE,
        lastTerminationReason: HOSTILE,
        lastExitCode: 1,
        lastFinishedAt: null,
      },
    ],
    sampleMessages: [HOSTILE, `second ${HOSTILE}`],
  });
const alert = alertNotification(hostileAlert(), { externalUrl: CONFIG.externalUrl });
const hostileIncident = (): Incident =>
  sampleIncident({
    subject: `Node/${HOSTILE}`,
    node: HOSTILE,
    rootCause: HOSTILE,
    rootReason: HOSTILE,
    members: sampleIncident().members.map((m) => ({ ...m, message: HOSTILE, reason: HOSTILE, name: HOSTILE })),
  });
const incident = incidentNotification(hostileIncident(), { externalUrl: CONFIG.externalUrl });
/** what was notified, and the record it was made from (as JSON: bigints as strings) */
const NOTIFICATIONS: Array<[string, Notification, unknown]> = [
  ['an Alert', alert, hostileAlert()],
  ['an Incident', incident, hostileIncident()],
];

/** Markdown that Slack's mrkdwn does not read: these may stay in a Slack message as they are. */
const NOT_SLACK_MARKUP = new Set(['[click here]', '![pixel]', '# Heading']);

function expectNoInjection(text: string, where: string, allowed: ReadonlySet<string> = new Set()): void {
  for (const f of FORBIDDEN) if (!allowed.has(f)) expect(text.includes(f), `${where} contains ${JSON.stringify(f)}:\n${text}`).toBe(false);
}

/** Still readable: the words are there. */
function expectReadable(text: string): void {
  expect(text).toContain('click here');
  expect(text).toContain('evil.example');
}

describe('untrusted text stays text', () => {
  describe.each(NOTIFICATIONS)('in %s', (_what, n, record) => {
    it('DingTalk markdown: no link, image, mention, HTML or formatting from the record; only the configured @mobile; the configured link kept', () => {
      const body = JSON.parse(receiver('dt').render(n, 0).body) as {
        markdown: { title: string; text: string };
        at: { atMobiles: string[]; atUserIds: string[]; isAtAll: boolean };
      };
      expectNoInjection(body.markdown.text, 'DingTalk text');
      expectReadable(body.markdown.text);
      for (const c of ['\n', '\u202e', '\u0000']) expect(body.markdown.title).not.toContain(c);
      expect(body.at).toEqual({ atMobiles: ['13900000000'], atUserIds: [], isAtAll: false });
      // the one mention in the text is the configured one, the one link the configured externalUrl
      expect(body.markdown.text.match(/@\d+/g)).toEqual(['@13900000000']);
      expect(body.markdown.text.match(/\]\(/g)).toEqual(['](']);
      expect(body.markdown.text).toContain('[Details](https://grafana.example.com/d/k?var-ns=all&x=1)');
    });

    it('WeCom markdown: no <@userid> or <font> from the record; only the configured mention', () => {
      const body = JSON.parse(receiver('wc').render(n, 0).body) as { markdown: { content: string } };
      const content = body.markdown.content;
      expectNoInjection(content, 'WeCom content');
      expectReadable(content);
      expect(content.match(/<@[^>]*>/g)).toEqual(['<@lisi>']);
      // the template's own <font> tags, no more
      const own = (
        receiver('wc')
          .render(n.kind === 'Alert' ? alertNotification(sampleAlert(), {}) : incidentNotification(sampleIncident(), {}), 0)
          .body.match(/<font/g) ?? []
      ).length;
      expect((content.match(/<font/g) ?? []).length).toBeLessThanOrEqual(own);
    });

    it('Slack mrkdwn: &, <, > escaped, no mention or link syntax, formatting characters inert, verbatim sections, plain-text header', () => {
      const body = JSON.parse(receiver('sl').render(n, 0).body) as {
        text: string;
        blocks: Array<{
          type: string;
          text?: { type: string; text: string; verbatim?: boolean };
          elements?: Array<{ type: string; text: string; verbatim?: boolean }>;
        }>;
      };
      const mrkdwn = body.blocks.flatMap((b) => [...(b.text ? [b.text] : []), ...(b.elements ?? [])]).filter((t) => t.type === 'mrkdwn');
      const texts = [body.text, ...mrkdwn.map((t) => t.text)];
      expect(mrkdwn.length).toBeGreaterThan(1);
      expectReadable(texts.join('\n'));
      for (const t of texts) {
        expectNoInjection(t.replace('<https://grafana.example.com/d/k?var-ns=all&amp;x=1|Details>', ''), 'Slack text', NOT_SLACK_MARKUP);
        // the only < is the configured link's; the only > the template's quotes at line starts
        const rest = t.replace('<https://grafana.example.com/d/k?var-ns=all&amp;x=1|Details>', '');
        expect(rest).not.toMatch(/</);
        expect(rest.replace(/^> /gm, '')).not.toMatch(/>/);
      }
      // the header is plain text: Slack reads no markup there; still one line, no link
      expect(body.blocks[0]!.text!.type).toBe('plain_text');
      expect(body.blocks[0]!.text!.text).not.toMatch(/https:\/\/evil|[\n\u202e]/);
      for (const b of body.blocks.slice(1)) {
        for (const t of b.text ? [b.text] : (b.elements ?? [])) expect(t.verbatim).toBe(true);
      }
    });

    it('webhook JSON: the record as data, every string exactly as it was; a template cannot be broken out of', () => {
      const plain = JSON.parse(receiver('wh').render(n, 0).body) as Record<string, unknown>;
      expect(plain).toEqual(JSON.parse(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))));
      expect(JSON.stringify(plain)).toContain(JSON.stringify(HOSTILE).slice(1, -1));
      const tpl = JSON.parse(receiver('wh-tpl').render(n, 0).body) as Record<string, unknown>;
      expect(Object.keys(tpl).sort()).toEqual(['members', 'object', 'samples', 'text']);
      expect(tpl['text']).toBe(`${n.view.title}: ${n.view.summary}`);
      expect(tpl['samples']).toEqual([...n.view.samples, 'end']);
    });

    it('Alertmanager: label names valid, annotations exactly the record text (data, for its own templates), generatorURL a URL whose values cannot leave their parameter', () => {
      const [posted] = JSON.parse(receiver('am').render(n, 0).body) as Array<{
        labels: Record<string, string>;
        annotations: Record<string, string>;
        generatorURL?: string;
      }>;
      for (const name of [...Object.keys(posted!.labels), ...Object.keys(posted!.annotations)]) expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
      expect(posted!.annotations['summary']).toBe(n.view.summary);
      const url = new URL(posted!.generatorURL!);
      expect(url.origin + url.pathname).toBe('https://grafana.example.com/explore');
      expect([...url.searchParams.keys()]).toEqual(['ns', 'obj']);
      expect(url.searchParams.get('obj')).toBe(n.view.object ?? '');
    });
  });
});

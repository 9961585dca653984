import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerAlertsCommand } from '../../../src/cli/alerts-command.js';
import { CliError } from '../../../src/cli/exit-codes.js';

const dir = mkdtempSync(join(tmpdir(), 'kubevents-alerts-cli-'));

function program(): Command {
  const p = new Command().exitOverride();
  registerAlertsCommand(p);
  return p;
}

async function run(args: string[]): Promise<{ out: string; code: number | undefined }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    await program().parseAsync(['node', 'kubevents', 'alerts', '--log-level', 'silent', ...args]);
  } finally {
    spy.mockRestore();
  }
  const code = process.exitCode;
  process.exitCode = undefined;
  return { out, code: code === undefined ? undefined : Number(code) };
}

afterEach(() => {
  delete process.env['KUBEVENTS_TEST_SLACK_URL'];
});

describe('kubevents alerts', () => {
  it('--check validates the configuration and prints receivers and routes without secrets', async () => {
    process.env['KUBEVENTS_TEST_SLACK_URL'] = 'https://hooks.slack.com/services/T0/B0/verysecretvalue123';
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      `kafka: { brokers: [localhost:9092] }
route:
  receiver: slack
  routes: [{ matchers: ['severity="critical"'], receiver: hook }]
receivers:
  - { name: slack, type: slack, url: "\${env:KUBEVENTS_TEST_SLACK_URL}" }
  - { name: hook, type: webhook, url: "http://hooks.internal/x" }
`,
    );
    const { out, code } = await run(['--config', file, '--check']);
    expect(code).toBe(0);
    expect(out).toContain(`${file}: OK`);
    expect(out).toContain('slack "slack" https://hooks.slack.com/[redacted]');
    expect(out).toContain('- {severity="critical"} -> hook');
    expect(out).not.toContain('verysecretvalue123');
  });

  it('refuses an invalid configuration with exit code 2 and file:line:column', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `kafka: { brokers: [localhost:9092] }\nroute: { receiver: nobody }\nreceivers:\n  - { name: hook, type: webhook, url: "http://x/y" }\n`,
    );
    const error = await run(['--config', file, '--check']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect((error as CliError).message).toContain(`${file}:2:20: error: field "route.receiver": no receiver named "nobody"`);
    const missing = await run(['--config', join(dir, 'nope.yaml'), '--check']).catch((e: unknown) => e);
    expect((missing as CliError).message).toMatch(/nope\.yaml:1:1: error: cannot read the configuration file \(ENOENT\)/);
  });

  it('--send-test delivers one synthetic notification to a receiver', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      process.env['KUBEVENTS_TEST_SLACK_URL'] = `http://127.0.0.1:${port}/robot/send?access_token=x`;
      const file = join(dir, 'dt.yaml');
      writeFileSync(
        file,
        `kafka: { brokers: [localhost:9092] }\nroute: { receiver: dt }\nreceivers:\n  - { name: dt, type: dingtalk, url: "\${env:KUBEVENTS_TEST_SLACK_URL}" }\n`,
      );
      const { out, code } = await run(['--config', file, '--send-test', 'dt']);
      expect(code).toBe(0);
      expect(out).toMatch(/^test notification delivered to dingtalk "dt" http:\/\/127\.0\.0\.1:\d+\/\[redacted\] \(1 attempt\)/);
      expect(JSON.parse(bodies[0] as string).markdown.title).toBe('[FIRING] KubeventsTestNotification: Pod default/kubevents-test');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_REDACT_PATHS,
  ConfigError,
  ENV_OVERRIDES,
  REDACTED,
  SECRET_PATHS,
  formatConfigYaml,
  kafkaClientConfigOf,
  leaderElectionOptionsOf,
  loadRunConfig,
  redactConfig,
  schemaRegistryConfigOf,
  sinkTopicsOf,
  type ConfigIssue,
} from '../../../src/config/run-config.js';
import { configEnv, configPrint, configValidate, registerConfigCommand, type ConfigCommandIo } from '../../../src/cli/config-command.js';
import { CliError, EXIT } from '../../../src/cli/exit-codes.js';
import { REDACT_PATHS } from '../../../src/core/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'kubevents-config-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `config-${++n}.yaml`);
  writeFileSync(path, text);
  return path;
}

function issuesOf(run: () => unknown): ConfigIssue[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const FULL = `# production example
cluster: prod-eu-1
logLevel: info
source:
  kube:
    namespaces: [team-a, team-b]
kafka:
  brokers:
    - kafka-0.kafka:9093
    - kafka-1.kafka:9093
  clientId: kubevents-prod
  tls:
    caFile: /etc/kubevents/kafka-tls/ca.crt
  sasl:
    mechanism: scram-sha-512
    username: kubevents
    passwordFile: PASSWORD_FILE
topics:
  events: prod.k8s.events
encoding: confluent
schemaRegistry:
  url: http://schema-registry:8081
checkpoint:
  store: kafka
  topic: kubevents.checkpoints
metrics:
  address: 0.0.0.0
  port: 9090
leaderElection:
  enabled: true
  leaseName: kubevents
  leaseDuration: 15s
  renewDeadline: 10s
  retryPeriod: 2
`;

describe('loadRunConfig', () => {
  it('a file of many problems: each is an issue, the message prints the first 50 and counts the rest', () => {
    const text = Array.from({ length: 200 }, (_, i) => `clustr${i}: x`).join('\n');
    let error: unknown;
    try {
      loadRunConfig({ file: 'many.yaml', env: {}, readFile: () => text, checkFile: () => null });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(issues).toHaveLength(200);
    expect(issues[0]).toMatchObject({ where: 'many.yaml:1:1', path: 'clustr0', message: 'unknown setting' });
    const lines = message.split('\n');
    expect(lines[0]).toBe('invalid configuration (200 problems):');
    expect(lines.filter((l) => l.startsWith('  many.yaml:'))).toHaveLength(50);
    expect(lines.at(-1)).toBe('  ... and 150 more problems (fix these first)');
  });

  it('defaults only: valid, no Kafka, file checkpoints, metrics on 0.0.0.0:9090, leader election off', () => {
    const { config, file: f, envApplied, warnings } = loadRunConfig({ env: {} });
    expect(f).toBeNull();
    expect(envApplied).toEqual([]);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      cluster: 'default',
      logLevel: 'info',
      source: { kube: { namespaces: [], inCluster: false } },
      encoding: 'confluent',
      checkpoint: { store: 'file', interval: 1_000 },
      metrics: { enabled: true, address: '0.0.0.0', port: 9090 },
      leaderElection: { enabled: false, leaseName: 'kubevents', leaseNamespace: 'kubevents', leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 },
      topics: { events: 'k8s.events', alerts: 'k8s.alerts', incidents: 'k8s.incidents', gaps: 'k8s.gaps', deadLetters: 'k8s.deadletter' },
    });
    expect(config.kafka).toBeUndefined();
    expect(kafkaClientConfigOf(config)).toBeUndefined();
  });

  it('a full production file, with the SASL password from a mounted file', () => {
    const secret = join(dir, 'sasl-password');
    writeFileSync(secret, 's3cret\n');
    const path = file(FULL.replace('PASSWORD_FILE', secret));
    const { config } = loadRunConfig({ file: path, env: { POD_NAMESPACE: 'observability' }, checkFile: () => null }); // the CA is mounted in production
    expect(config.kafka?.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'kubevents', passwordFile: secret, password: 's3cret' });
    expect(config.leaderElection.leaseNamespace).toBe('observability');
    expect(kafkaClientConfigOf(config)).toEqual({
      brokers: ['kafka-0.kafka:9093', 'kafka-1.kafka:9093'],
      clientId: 'kubevents-prod',
      tls: { rejectUnauthorized: true, caFile: '/etc/kubevents/kafka-tls/ca.crt', certFile: undefined, keyFile: undefined, servername: undefined },
      sasl: { mechanism: 'scram-sha-512', username: 'kubevents', password: 's3cret' },
    });
    expect(schemaRegistryConfigOf(config)).toMatchObject({ url: 'http://schema-registry:8081', autoRegister: true });
    expect(sinkTopicsOf(config)).toEqual({
      KubeEvent: 'prod.k8s.events',
      Alert: 'k8s.alerts',
      Incident: 'k8s.incidents',
      Gap: 'k8s.gaps',
      DeadLetter: 'k8s.deadletter',
    });
    expect(leaderElectionOptionsOf(config)).toEqual({
      name: 'kubevents',
      namespace: 'observability',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(config.checkpoint.store).toBe('kafka');
  });

  it('compression: lz4 unless set, gzip or none from the file or KUBEVENTS_KAFKA_COMPRESSION, anything else refused at its line', () => {
    const base = 'encoding: avro-binary\nkafka:\n  brokers: [k:9092]\n';
    expect(loadRunConfig({ file: file(base), env: {} }).config.kafka?.compression).toBe('lz4');
    expect(loadRunConfig({ file: file(`${base}  compression: gzip\n`), env: {} }).config.kafka?.compression).toBe('gzip');
    expect(loadRunConfig({ file: file(`${base}  compression: gzip\n`), env: { KUBEVENTS_KAFKA_COMPRESSION: 'none' } }).config.kafka?.compression).toBe('none');
    const path = file(`${base}  compression: zstd\n`);
    const [issue] = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issue).toMatchObject({ where: `${path}:4:16`, path: 'kafka.compression' });
    expect(issue!.message).toMatch(/lz4.*gzip.*none/);
  });

  it('names a referenced file that cannot be read (CA, client certificate and key, kubeconfig) at its line, before anything connects', () => {
    const ca = join(dir, 'ca.crt');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const path = file(
      `kafka:\n  brokers: [k:9093]\n  tls:\n    enabled: true\n    caFile: ${ca}\n    certFile: ${join(dir, 'missing.crt')}\n    keyFile: ${dir}\nencoding: avro-binary\nsource:\n  kube:\n    kubeconfig: /nowhere/kubeconfig\n`,
    );
    expect(issuesOf(() => loadRunConfig({ file: path, env: {} }))).toEqual([
      {
        where: `${path}:6:15`,
        path: 'kafka.tls.certFile',
        message: `cannot read the client certificate ${join(dir, 'missing.crt')}: no such file`,
        hint: 'correct the path, or mount the file (a Secret volume) there',
      },
      { where: `${path}:7:14`, path: 'kafka.tls.keyFile', message: `cannot read the client key ${dir}: it is a directory`, hint: expect.any(String) },
      {
        where: `${path}:11:17`,
        path: 'source.kube.kubeconfig',
        message: 'cannot read the kubeconfig /nowhere/kubeconfig: no such file',
        hint: expect.any(String),
      },
    ]);
    expect(
      issuesOf(() => loadRunConfig({ env: { KUBEVENTS_KAFKA_BROKERS: 'k:1', KUBEVENTS_ENCODING: 'avro-binary', KUBEVENTS_KAFKA_TLS_CA_FILE: '/no/ca' } })),
    ).toMatchObject([{ where: 'env KUBEVENTS_KAFKA_TLS_CA_FILE', path: 'kafka.tls.caFile', message: 'cannot read the CA certificate /no/ca: no such file' }]);
  });

  it('reports a wrong type at the file:line:column of the value', () => {
    const path = file('cluster: c1\nmetrics:\n  port: "9090x"\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ where: `${path}:3:9`, path: 'metrics.port' });
    expect(issues[0]!.message).toBe('expected a number, got the string "9090x"');
    expect(issues[0]!.hint).toBeUndefined();
  });

  it('reports an unknown key at the key, with a did-you-mean hint', () => {
    const path = file('kafka:\n  brokerz: [a:9092]\n  brokers: [a:9092]\nencoding: avro-binary\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues).toEqual([{ where: `${path}:2:3`, path: 'kafka.brokerz', message: 'unknown setting', hint: 'did you mean "brokers"?' }]);
  });

  it('refuses an inline secret at its line, pointing to the environment variable and passwordFile', () => {
    const path = file('kafka:\n  brokers: [a:9092]\n  sasl:\n    mechanism: plain\n    username: u\n    password: hunter2\nencoding: avro-binary\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ where: `${path}:6:5`, path: 'kafka.sasl.password', message: 'secrets are not accepted in the configuration file' });
    expect(issues[0]!.hint).toContain('KUBEVENTS_KAFKA_SASL_PASSWORD');
    expect(issues[0]!.hint).toContain('kafka.sasl.passwordFile');
    expect(new ConfigError(issues).message).not.toContain('hunter2');
  });

  it('lists several problems at once, including cross-field ones, with hints', () => {
    const path = file(
      [
        'kafka:',
        '  brokers: a:9092,b:9092', // a string, not a list
        '  sasl:',
        '    mechanism: scram', // not a mechanism
        '    username: u',
        'checkpoint:',
        '  store: kafka',
        'leaderElection:',
        '  leaseDurationSeconds: 10',
        '  renewDeadlineSeconds: 10',
        '',
      ].join('\n'),
    );
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    // a comma-separated string is a list, as in KUBEVENTS_KAFKA_BROKERS
    expect(byPath['kafka.brokers']).toBeUndefined();
    expect(byPath['kafka.sasl.mechanism']?.where).toBe(`${path}:4:16`);
    expect(byPath['kafka.sasl.mechanism']?.message).toMatch(/plain.*scram-sha-256.*scram-sha-512/);
    // checked on the effective setting, pointing at the old name it was written under
    expect(byPath['leaderElection.leaseDuration']).toMatchObject({ where: `${path}:9:25`, message: 'must be longer than renewDeadline (10s)' });
    const text = new ConfigError(issues).message;
    expect(text).toMatch(/^invalid configuration \(\d+ problems\):/);
    expect(text).toContain(`  ${path}:4:16: kafka.sasl.mechanism: `);
  });

  it('a missing required value points at its parent and names the environment variable', () => {
    const path = file('encoding: avro-binary\nkafka:\n  clientId: x\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues).toEqual([
      { where: `${path}:2:1`, path: 'kafka.brokers', message: 'required setting missing', hint: 'write it in the file, or set KUBEVENTS_KAFKA_BROKERS' },
    ]);
  });

  it('needs a schema registry for the confluent encoding and a password source for SASL', () => {
    const path = file('kafka:\n  brokers: [a:9092]\n  sasl: {mechanism: plain, username: u}\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues.map((i) => i.message)).toEqual([
      'encoding "confluent" needs schemaRegistry.url (or set encoding: avro-binary)',
      'no SASL password: set KUBEVENTS_KAFKA_SASL_PASSWORD or kafka.sasl.passwordFile',
    ]);
    expect(issues[1]!.where).toBe(`${path}:3:9`);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    const bad = file('cluster: a\nkafka:\n  brokers: [a:9092\n');
    const [syntax] = issuesOf(() => loadRunConfig({ file: bad, env: {} }));
    expect(syntax!.where).toMatch(new RegExp(`^${bad}:\\d+:\\d+$`));
    expect(syntax!.message).toMatch(/^YAML syntax error: /);
    const dup = file('cluster: a\ncluster: b\n');
    const [d] = issuesOf(() => loadRunConfig({ file: dup, env: {} }));
    expect(d).toMatchObject({ where: `${dup}:2:1`, hint: 'each key may appear once per mapping' });
    const list = file('- a\n- b\n');
    expect(issuesOf(() => loadRunConfig({ file: list, env: {} }))[0]!.message).toMatch(/must be a YAML mapping/);
    expect(issuesOf(() => loadRunConfig({ file: join(dir, 'nope.yaml'), env: {} }))[0]!.message).toMatch(/cannot read the configuration file: ENOENT/);
    // an empty file is an empty configuration
    expect(loadRunConfig({ file: file('# nothing\n'), env: {} }).config.cluster).toBe('default');
  });

  it('applies KUBEVENTS_* overrides over the file, typed, and attributes their errors to the variable', () => {
    const path = file('cluster: from-file\nencoding: avro-binary\nkafka:\n  brokers: [file:9092]\nmetrics:\n  port: 1234\n');
    const { config, envApplied } = loadRunConfig({
      file: path,
      env: {
        KUBEVENTS_CLUSTER: 'from-env',
        KUBEVENTS_KAFKA_BROKERS: 'a:9092, b:9092',
        KUBEVENTS_METRICS_PORT: '9100',
        KUBEVENTS_LEADER_ELECTION_ENABLED: 'true',
        KUBEVENTS_NAMESPACES: 'x,y',
        KUBEVENTS_KAFKA_SASL_MECHANISM: 'plain',
        KUBEVENTS_KAFKA_SASL_USERNAME: 'user',
        KUBEVENTS_KAFKA_SASL_PASSWORD: 'pw-from-env',
      },
    });
    expect(config.cluster).toBe('from-env');
    expect(config.kafka?.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.metrics.port).toBe(9100);
    expect(config.leaderElection.enabled).toBe(true);
    expect(config.source.kube.namespaces).toEqual(['x', 'y']);
    expect(config.kafka?.sasl?.password).toBe('pw-from-env');
    expect(envApplied.map((e) => e.env)).toContain('KUBEVENTS_KAFKA_SASL_PASSWORD');

    const issues = issuesOf(() =>
      loadRunConfig({ file: path, env: { KUBEVENTS_METRICS_PORT: 'ninety', KUBEVENTS_KAFKA_BROKERS: 'no-port', KUBEVENTS_KAFKA_TLS_ENABLED: 'maybe' } }),
    );
    expect(issues).toEqual([
      { where: 'env KUBEVENTS_KAFKA_TLS_ENABLED', path: 'kafka.tls.enabled', message: '"maybe": expected true or false' },
      { where: 'env KUBEVENTS_METRICS_PORT', path: 'metrics.port', message: '"ninety": expected an integer' },
      // every problem at once
      { where: 'env KUBEVENTS_KAFKA_BROKERS', path: 'kafka.brokers[0]', message: 'must be host:port, e.g. kafka-0.kafka:9092', hint: undefined },
    ]);
    const brokers = issuesOf(() => loadRunConfig({ file: path, env: { KUBEVENTS_KAFKA_BROKERS: 'no-port' } }));
    expect(brokers).toMatchObject([{ where: 'env KUBEVENTS_KAFKA_BROKERS', path: 'kafka.brokers[0]', message: 'must be host:port, e.g. kafka-0.kafka:9092' }]);
  });

  it('never shows a secret from the environment in an error', () => {
    const issues = issuesOf(() =>
      loadRunConfig({ env: { KUBEVENTS_KAFKA_BROKERS: 'a:1', KUBEVENTS_ENCODING: 'avro-binary', KUBEVENTS_KAFKA_SASL_PASSWORD: 'pw' } }),
    );
    // sasl.password set without mechanism/username
    expect(JSON.stringify(issues)).not.toContain('"pw"');
  });

  it('password file problems are reported at the passwordFile setting; both sources is an error', () => {
    const path = file(
      `encoding: avro-binary\nkafka:\n  brokers: [a:9092]\n  sasl:\n    mechanism: plain\n    username: u\n    passwordFile: ${join(dir, 'missing')}\n`,
    );
    const [missing] = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(missing).toMatchObject({ where: `${path}:7:19`, path: 'kafka.sasl.passwordFile' });
    expect(missing!.message).toMatch(/cannot read the password file .*missing: ENOENT/);
    const both = issuesOf(() => loadRunConfig({ file: path, env: { KUBEVENTS_KAFKA_SASL_PASSWORD: 'x' } }));
    expect(both[0]!.message).toMatch(/keep one/);
  });

  it('warns about unknown KUBEVENTS_* variables, not about KUBEVENTS_CONFIG or the test env', () => {
    const { warnings } = loadRunConfig({ env: { KUBEVENTS_KAFKA_BROKER: 'x', KUBEVENTS_CONFIG: 'f', KUBEVENTS_TESTENV_CACHE: '/x' } });
    expect(warnings).toEqual(['unknown environment variable KUBEVENTS_KAFKA_BROKER ignored (see kubevents config --help for the list)']);
  });

  it('checks leader election names and timings', () => {
    const path = file('leaderElection:\n  leaseName: Kube_Events\n  retryPeriod: 9s\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues.map((i) => [i.where, i.path, i.message])).toEqual([
      [`${path}:2:14`, 'leaderElection.leaseName', 'must be a DNS subdomain name (lowercase letters, digits, - and .)'],
      // not in the file: the key of its section
      [`${path}:1:1`, 'leaderElection.renewDeadline', 'must be longer than retryPeriod x 1.2 (10s800ms)'],
    ]);
  });
});

describe('redaction', () => {
  it('redacts every secret in print, keeping passwordFile paths', () => {
    const secret = join(dir, 'pw2');
    writeFileSync(secret, 'top-secret');
    const path = file(FULL.replace('PASSWORD_FILE', secret));
    const loaded = loadRunConfig({
      file: path,
      env: { KUBEVENTS_SCHEMA_REGISTRY_USERNAME: 'sr', KUBEVENTS_SCHEMA_REGISTRY_PASSWORD: 'sr-secret' },
      checkFile: () => null,
    });
    const yaml = formatConfigYaml(loaded);
    expect(yaml).not.toContain('top-secret');
    expect(yaml).not.toContain('sr-secret');
    const printed = parse(yaml);
    expect(printed.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'kubevents', passwordFile: secret, password: REDACTED });
    expect(printed.schemaRegistry.password).toBe(REDACTED);
    expect(yaml).toMatch(/^# effective kubevents configuration \(file: .*\)\n# schemaRegistry\.username from KUBEVENTS_SCHEMA_REGISTRY_USERNAME\n/);
    // the original is untouched
    expect(loaded.config.kafka?.sasl?.password).toBe('top-secret');
    expect(redactConfig(loaded.config).kafka?.sasl?.password).toBe(REDACTED);
  });

  it('pino with REDACT_PATHS + CONFIG_REDACT_PATHS never writes a configured secret', () => {
    expect(ENV_OVERRIDES.filter((e) => e.secret).map((e) => e.env)).toEqual(['KUBEVENTS_KAFKA_SASL_PASSWORD', 'KUBEVENTS_SCHEMA_REGISTRY_PASSWORD']);
    expect(SECRET_PATHS.map((p) => p.join('.'))).toEqual(['kafka.sasl.password', 'schemaRegistry.password']);
    const { config } = loadRunConfig({
      env: {
        KUBEVENTS_KAFKA_BROKERS: 'k:9092',
        KUBEVENTS_KAFKA_SASL_MECHANISM: 'plain',
        KUBEVENTS_KAFKA_SASL_USERNAME: 'u',
        KUBEVENTS_KAFKA_SASL_PASSWORD: 'kafka-pw-123',
        KUBEVENTS_SCHEMA_REGISTRY_URL: 'http://sr:8081',
        KUBEVENTS_SCHEMA_REGISTRY_USERNAME: 'sr',
        KUBEVENTS_SCHEMA_REGISTRY_PASSWORD: 'sr-pw-456',
      },
    });
    let out = '';
    const logger = pino({ redact: { paths: [...REDACT_PATHS, ...CONFIG_REDACT_PATHS], censor: '[redacted]' } }, { write: (s: string) => (out += s) });
    logger.info({ config }, 'config');
    logger.info(config, 'flat');
    logger.info({ kafka: kafkaClientConfigOf(config) }, 'kafka client');
    logger.info({ schemaRegistry: schemaRegistryConfigOf(config) }, 'registry');
    logger.info({ sink: { sasl: config.kafka?.sasl } }, 'nested');
    expect(out).toContain('"username":"u"');
    expect(out).not.toContain('kafka-pw-123');
    expect(out).not.toContain('sr-pw-456');
  });
});

describe('kubevents config', () => {
  function io(env: NodeJS.ProcessEnv = {}): ConfigCommandIo & { out: string; err: string } {
    const r = {
      out: '',
      err: '',
      env,
      stdout: { write: (t: string) => (r.out += t) },
      stderr: { write: (t: string) => (r.err += t) },
    };
    return r;
  }

  it('print: effective YAML on stdout, secrets redacted; warnings on stderr', () => {
    const out = io({ KUBEVENTS_KAFKA_BROKERS: 'k:9092', KUBEVENTS_ENCODING: 'avro-binary', KUBEVENTS_TYPO: '1' });
    expect(configPrint({}, out)).toBe(EXIT.ok);
    expect(parse(out.out)).toMatchObject({ kafka: { brokers: ['k:9092'] }, encoding: 'avro-binary', checkpoint: { store: 'kafka' } });
    expect(out.err).toContain('warning: unknown environment variable KUBEVENTS_TYPO');
  });

  it('validate: exit 0 with a summary, or a CliError (exit 2) listing the problems by line', () => {
    const good = io();
    expect(configValidate({ config: file('cluster: x\n') }, good)).toBe(EXIT.ok);
    expect(good.out).toMatch(/^configuration is valid \(.*config-\d+\.yaml\)\n$/);
    const path = file('cluster: x\nmetrics:\n  prot: 9090\n');
    try {
      configValidate({ config: path }, io());
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(EXIT.usage);
      expect((error as CliError).message).toContain(`${path}:3:3: metrics.prot: unknown setting`);
      expect((error as CliError).message).toContain('hint: did you mean "port"?');
    }
  });

  it('env: lists every variable', () => {
    const out = io();
    configEnv(out);
    for (const e of ENV_OVERRIDES) expect(out.out).toContain(e.env);
    expect(out.out).toMatch(/KUBEVENTS_KAFKA_BROKERS\s+kafka\.brokers \(comma-separated\)/);
    expect(out.out).toMatch(/KUBEVENTS_KAFKA_SASL_PASSWORD\s+kafka\.sasl\.password \[secret/);
  });

  it('registers config print|validate|env on a commander program, --config from $KUBEVENTS_CONFIG', async () => {
    const path = file('cluster: from-command\n');
    const out = io();
    const program = new Command().exitOverride();
    registerConfigCommand(program, () => out);
    await program.parseAsync(['node', 'kubevents', 'config', 'print', '--config', path]);
    expect(parse(out.out).cluster).toBe('from-command');
    const saved = process.env['KUBEVENTS_CONFIG'];
    process.env['KUBEVENTS_CONFIG'] = path;
    try {
      const out2 = io();
      const p2 = new Command().exitOverride();
      registerConfigCommand(p2, () => out2);
      await p2.parseAsync(['node', 'kubevents', 'config', 'validate']);
      expect(out2.out).toContain(path);
    } finally {
      if (saved === undefined) delete process.env['KUBEVENTS_CONFIG'];
      else process.env['KUBEVENTS_CONFIG'] = saved;
      process.exitCode = undefined;
    }
  });
});

describe('durations in the run configuration', () => {
  it('reads durations and plain seconds, and the old unit-named settings with a warning naming the new one', () => {
    const path = file(
      'checkpoint:\n  interval: 500ms\nleaderElection:\n  leaseDuration: 1m\n  renewDeadline: 30\n  retryPeriodSeconds: 5\nkafka:\n  brokers: a:9092\n  requestTimeoutMs: 4000\nencoding: avro-binary\n',
    );
    const { config, warnings } = loadRunConfig({ file: path, env: {} });
    expect(config.checkpoint.interval).toBe(500);
    expect(config.leaderElection).toMatchObject({ leaseDuration: 60_000, renewDeadline: 30_000, retryPeriod: 5_000 });
    expect(config.kafka?.requestTimeout).toBe(4_000);
    expect(kafkaClientConfigOf(config)).toMatchObject({ requestTimeoutMs: 4_000 });
    expect(warnings).toEqual([
      `${path}:9:3: kafka.requestTimeoutMs is read for compatibility; write requestTimeout: 4s instead (a duration)`,
      `${path}:6:3: leaderElection.retryPeriodSeconds is read for compatibility; write retryPeriod: 5s instead (a duration)`,
    ]);
    // printed back as durations
    expect(parse(formatConfigYaml({ config, file: path, envApplied: [], warnings: [] }))).toMatchObject({
      checkpoint: { interval: '500ms' },
      leaderElection: { leaseDuration: '1m', retryPeriod: '5s' },
    });
  });

  it('a duration without a unit that is not a whole number, or with a bad unit, is refused where it is written', () => {
    const path = file('checkpoint:\n  interval: 1.5\nleaderElection:\n  leaseDuration: 5 m\n');
    const issues = issuesOf(() => loadRunConfig({ file: path, env: {} }));
    expect(issues.map((i) => [i.where, i.path])).toEqual([
      [`${path}:2:13`, 'checkpoint.interval'],
      [`${path}:4:18`, 'leaderElection.leaseDuration'],
    ]);
    expect(issues[1]!.message).toMatch(/invalid duration "5 m"/);
  });

  it('environment durations: KUBEVENTS_CHECKPOINT_INTERVAL=2s, and the old *_SECONDS variables with a warning', () => {
    const { config, warnings } = loadRunConfig({ env: { KUBEVENTS_CHECKPOINT_INTERVAL: '2s', KUBEVENTS_LEADER_ELECTION_LEASE_DURATION_SECONDS: '20' } });
    expect(config.checkpoint.interval).toBe(2_000);
    expect(config.leaderElection.leaseDuration).toBe(20_000);
    expect(warnings).toEqual([
      'KUBEVENTS_LEADER_ELECTION_LEASE_DURATION_SECONDS is read for compatibility; set KUBEVENTS_LEADER_ELECTION_LEASE_DURATION instead (a duration such as 15s)',
    ]);
  });
});

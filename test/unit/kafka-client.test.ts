import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { compressionType, explainKafkaError, headersToStrings, kafkaConfigOf, KafkaConnectionProblem, type KafkaClientConfig } from '../../src/kafka/client.js';
import { pino } from 'pino';
import { connectKafkaSink } from '../../src/sinks/kafka-publisher.js';

// the error classes kafkajs throws (test only: src/ reaches kafkajs through src/kafka/client.ts);
// typed loosely: kafkajs's typings lack KafkaJSConnectionClosedError and its constructors' options
type ErrorClass = new (message: unknown, options?: Record<string, unknown>) => Error;
const {
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSNonRetriableError,
  KafkaJSSASLAuthenticationError,
  KafkaJSProtocolError,
} = kafkajs as unknown as Record<
  | 'KafkaJSConnectionError'
  | 'KafkaJSConnectionClosedError'
  | 'KafkaJSNumberOfRetriesExceeded'
  | 'KafkaJSNonRetriableError'
  | 'KafkaJSSASLAuthenticationError'
  | 'KafkaJSProtocolError',
  ErrorClass
>;

describe('kafka client config', () => {
  it('maps TLS files, SASL mechanisms and timeouts to kafkajs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-tls-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n');
      const config = kafkaConfigOf({
        brokers: ['b:9093'],
        tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
        connectionTimeoutMs: 5000,
        requestTimeoutMs: 7000,
      });
      expect(config).toMatchObject({
        clientId: 'kubevents',
        brokers: ['b:9093'],
        ssl: {
          ca: [expect.stringContaining('\nCA\n')],
          cert: expect.stringContaining('\nCERT\n'),
          key: expect.stringContaining('\nKEY\n'),
          rejectUnauthorized: true,
        },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
        connectionTimeout: 5000,
        requestTimeout: 7000,
      });
      expect(kafkaConfigOf({ brokers: ['b'], tls: true, sasl: { mechanism: 'plain', username: 'u', password: 'p' } })).toMatchObject({
        ssl: true,
        sasl: { mechanism: 'plain' },
      });
      expect(kafkaConfigOf({ brokers: ['b'] }).ssl).toBeUndefined();
      expect(() => kafkaConfigOf({ brokers: [] })).toThrow(/at least one broker/);
      expect(() => kafkaConfigOf({ brokers: ['b'], sasl: { mechanism: 'gssapi' as never, username: '', password: '' } })).toThrow(/unsupported SASL/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('offers gzip and lz4 built in and refuses codecs that are not registered', async () => {
    expect(compressionType('none')).toBe(0);
    expect(compressionType('gzip')).toBe(1);
    expect(compressionType('lz4')).toBe(3);
    // kafkajs's LZ4 codec slot now holds lz4-napi's frame format (the broker reads it: integration tests)
    const codec = (
      kafkajs.CompressionCodecs as Record<number, () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>
    )[3]!();
    const payload = Buffer.from('kubevents '.repeat(500));
    const compressed = await codec.compress({ buffer: payload });
    expect(compressed.readUInt32LE(0)).toBe(0x184d2204); // the LZ4 frame magic number
    expect(compressed.length).toBeLessThan(payload.length / 10);
    expect((await codec.decompress(compressed)).equals(payload)).toBe(true);
    expect(() => compressionType('zstd')).toThrow(/@kafkajs\/zstd/);
    expect(() => compressionType('snappy')).toThrow(/kafkajs-snappy/);
  });

  it('reads header values as strings', () => {
    expect(headersToStrings({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('z')], d: undefined })).toEqual({ a: 'x', b: 'y', c: 'z' });
  });
});

describe('kafka client TLS options', () => {
  const pem = (dir: string) => {
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'key.pem'), '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
    writeFileSync(join(dir, 'enc-key.pem'), '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n');
    writeFileSync(join(dir, 'not-pem.txt'), 'hello');
  };

  it('passes only the options that are set, so kafkajs keeps the broker host as SNI server name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-tls-'));
    try {
      pem(dir);
      const ssl = kafkaConfigOf({ brokers: ['kafka-0.example:9093'], tls: { caFile: join(dir, 'ca.pem') } }).ssl as Record<string, unknown>;
      // kafkajs: tls.connect(Object.assign({host, port, servername: host}, ssl)): an undefined
      // servername here would switch SNI off
      expect(Object.keys(ssl).sort()).toEqual(['ca', 'rejectUnauthorized']);
      expect(kafkaConfigOf({ brokers: ['b:9093'], tls: { servername: 'kafka.example' } }).ssl).toEqual({
        rejectUnauthorized: true,
        servername: 'kafka.example',
      });
      expect(kafkaConfigOf({ brokers: ['b:9093'], tls: { rejectUnauthorized: false } }).ssl).toEqual({ rejectUnauthorized: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unreadable, non-PEM and encrypted TLS files and a certificate without its key, naming the setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-tls-'));
    try {
      pem(dir);
      const problem = (tls: KafkaClientConfig['tls']): KafkaConnectionProblem => {
        try {
          kafkaConfigOf({ brokers: ['b:9093'], tls });
        } catch (error) {
          expect(error).toBeInstanceOf(KafkaConnectionProblem);
          return error as KafkaConnectionProblem;
        }
        throw new Error('no error');
      };
      const missing = problem({ caFile: join(dir, 'missing.pem') });
      expect(missing.message).toBe(`cannot read kafka.tls.caFile ${join(dir, 'missing.pem')} (ENOENT): it must name a readable file holding a PEM certificate`);
      expect(missing).toMatchObject({ problem: 'tls-files', configuration: true });
      expect(problem({ caFile: join(dir, 'not-pem.txt') }).message).toBe(
        `kafka.tls.caFile ${join(dir, 'not-pem.txt')} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`,
      );
      expect(problem({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'ca.pem') }).message).toMatch(/kafka\.tls\.keyFile .* holds no PEM private key/);
      expect(problem({ certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'enc-key.pem') }).message).toMatch(/kafka\.tls\.keyFile .* is encrypted/);
      expect(problem({ certFile: join(dir, 'ca.pem') }).message).toMatch(/certFile and kafka\.tls\.keyFile go together/);
      expect(kafkaConfigOf({ brokers: ['b'], tls: { certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'key.pem') } }).ssl).toMatchObject({
        cert: expect.stringContaining('CERTIFICATE'),
        key: expect.stringContaining('PRIVATE KEY'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('explainKafkaError: kafkajs connection failures as one line naming the broker and the fix', () => {
  const BROKER = '127.0.0.1:29093';
  const SECRET = 'hunter2-the-password';
  const saslConfig: KafkaClientConfig = {
    brokers: [BROKER],
    tls: { caFile: '/etc/kafka/ca.pem' },
    sasl: { mechanism: 'scram-sha-512', username: 'kubevents', password: SECRET },
  };
  const mtlsConfig: KafkaClientConfig = {
    brokers: [BROKER],
    tls: { caFile: '/etc/kafka/ca.pem', certFile: '/etc/kafka/client.pem', keyFile: '/etc/kafka/client-key.pem' },
  };
  /** what kafkajs throws after its retries of a connection error (as the integration tests see it) */
  const afterRetries = (message: string, code: string, broker = BROKER) =>
    new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError(`Connection error: ${message}`, { broker, code }), { retryCount: 5, retryTime: 4000 });

  const explain = (error: unknown, config: KafkaClientConfig, passwordSource?: string): KafkaConnectionProblem => {
    const problem = explainKafkaError(error, config, passwordSource ? { passwordSource } : {});
    expect(problem, String(error)).toBeInstanceOf(KafkaConnectionProblem);
    expect(problem!.message).not.toContain('\n');
    expect(problem!.message).not.toContain(SECRET);
    expect(problem!.cause).toBe(error);
    return problem!;
  };

  it('a wrong password: the broker, the mechanism, the user and where the password came from', () => {
    const error = new KafkaJSSASLAuthenticationError(
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    );
    const p = explain(error, saslConfig, 'KUBEVENTS_KAFKA_SASL_PASSWORD');
    expect(p.message).toBe(
      `Kafka broker ${BROKER} rejected the SASL SCRAM-SHA-512 login of user "kubevents": wrong username or password; check kafka.sasl.username and the password (KUBEVENTS_KAFKA_SASL_PASSWORD)`,
    );
    expect(p).toMatchObject({ problem: 'sasl-authentication', broker: BROKER, configuration: true });
    // wrapped by kafkajs's retrier, and with several seed brokers
    const wrapped = explain(new KafkaJSNonRetriableError(error, { cause: error }), { ...saslConfig, brokers: ['a:9093', 'b:9093'] });
    expect(wrapped.message).toMatch(
      /^Kafka brokers a:9093,b:9093 rejected the SASL SCRAM-SHA-512 login of user "kubevents": .*check kafka.sasl.username and the password$/,
    );
  });

  it('a SASL mechanism the listener does not enable', () => {
    const error = new KafkaJSProtocolError({
      message: 'The broker does not support the requested SASL mechanism',
      type: 'UNSUPPORTED_SASL_MECHANISM',
      code: 33,
      retriable: false,
    } as never);
    const p = explain(error, { ...saslConfig, sasl: { mechanism: 'scram-sha-256', username: 'u', password: SECRET } });
    expect(p.message).toBe(
      `Kafka broker ${BROKER} does not offer SASL SCRAM-SHA-256 on this listener: set kafka.sasl.mechanism to one it enables (sasl.enabled.mechanisms), e.g. scram-sha-512`,
    );
    expect(p.configuration).toBe(true);
  });

  it('an unknown CA: which CA was trusted and which setting to change', () => {
    const chain = explain(afterRetries('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), saslConfig);
    expect(chain.message).toBe(
      `Kafka broker ${BROKER} presented a TLS certificate not signed by the CA in kafka.tls.caFile /etc/kafka/ca.pem (self-signed certificate in certificate chain): set kafka.tls.caFile to the PEM file of the CA that signed the broker's certificate`,
    );
    expect(chain).toMatchObject({ problem: 'tls-unknown-ca', configuration: true });
    const leaf = explain(afterRetries('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { brokers: [BROKER], tls: true });
    expect(leaf.message).toBe(
      `Kafka broker ${BROKER} presented a TLS certificate not signed by the system's CAs (no kafka.tls.caFile) (unable to verify the first certificate): set kafka.tls.caFile to the PEM file of the CA that signed the broker's certificate`,
    );
  });

  it("an expired certificate (the broker's, or ours refused by the broker)", () => {
    const p = explain(afterRetries('certificate has expired', 'CERT_HAS_EXPIRED'), saslConfig);
    expect(p.message).toBe(
      `Kafka broker ${BROKER} presented an expired TLS certificate (certificate has expired): renew the broker's certificate, and check this machine's clock`,
    );
    expect(p).toMatchObject({ problem: 'tls-expired', configuration: true });
    const notYet = explain(afterRetries('certificate is not yet valid', 'CERT_NOT_YET_VALID'), saslConfig);
    expect(notYet.problem).toBe('tls-not-yet-valid');
    // Java brokers answer an expired or unknown client certificate with alert 46 (certificate unknown)
    const alert =
      'C0:error:0A000416:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 46\n';
    const refused = explain(afterRetries(alert, 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN'), mtlsConfig);
    expect(refused.message).toBe(
      `Kafka broker ${BROKER} refused the client certificate in kafka.tls.certFile /etc/kafka/client.pem (TLS alert: certificate unknown): it must be signed by a CA the broker trusts (its ssl.truststore) and be valid now`,
    );
    expect(refused).toMatchObject({ problem: 'tls-client-certificate', configuration: true });
    const required = explain(afterRetries('... sslv3 alert bad certificate ... SSL alert number 42', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), saslConfig);
    expect(required.message).toBe(
      `Kafka broker ${BROKER} requires a client certificate (TLS alert: bad certificate): set kafka.tls.certFile and kafka.tls.keyFile`,
    );
  });

  it('a host name mismatch: the address, the certificate and both ways out', () => {
    const error = afterRetries("Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ", 'ERR_TLS_CERT_ALTNAME_INVALID');
    const p = explain(error, saslConfig);
    expect(p.message).toBe(
      `Kafka broker ${BROKER} presented a TLS certificate that does not name the address connected to (Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list): list the brokers in kafka.brokers by a name the certificate holds, or set kafka.tls.servername to one; else reissue the certificate with this address`,
    );
    expect(p).toMatchObject({ problem: 'tls-hostname', configuration: true });
    const withServername = explain(error, { ...saslConfig, tls: { servername: 'kafka.internal' } });
    expect(withServername.message).toContain('does not name kafka.tls.servername "kafka.internal"');
  });

  it('unreachable brokers and protocol mismatches: explained, but not configuration errors (exit 1)', () => {
    const refused = explain(afterRetries('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED', '127.0.0.1:1'), { brokers: ['127.0.0.1:1'] });
    expect(refused.message).toBe(
      'cannot reach Kafka broker 127.0.0.1:1 (connection refused): check kafka.brokers (host:port of a listener) and that the broker is up',
    );
    expect(refused.configuration).toBe(false);
    const timeout = explain(
      new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection timeout', { broker: BROKER }), { retryCount: 5, retryTime: 1 }),
      { brokers: [BROKER] },
    );
    expect(timeout.message).toContain('(connection timed out)');
    const tlsToPlaintext = explain(afterRetries('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET'), saslConfig);
    expect(tlsToPlaintext.message).toMatch(/did not answer the TLS handshake .*PLAINTEXT or SASL_PLAINTEXT listener\?/);
    expect(tlsToPlaintext.configuration).toBe(false);
    const closed = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionClosedError('Closed connection', { host: '127.0.0.1', port: 29093 }), {
      retryCount: 5,
      retryTime: 1,
    });
    expect(explain(closed, { brokers: [BROKER] }).message).toBe(
      `Kafka broker ${BROKER} closed the connection: if this listener expects TLS (kafka.tls), configure it; else see the broker's log`,
    );
  });

  it('leaves other errors alone, and passes its own TLS file problems through', () => {
    expect(explainKafkaError(new Error('Kafka topic x missing on b:9092: create it'), saslConfig)).toBeNull();
    expect(
      explainKafkaError(
        new KafkaJSProtocolError({
          message: 'This server does not host this topic-partition',
          type: 'UNKNOWN_TOPIC_OR_PARTITION',
          code: 3,
          retriable: true,
        } as never),
        saslConfig,
      ),
    ).toBeNull();
    const own = new KafkaConnectionProblem('tls-files', '', 'cannot read kafka.tls.caFile /x (ENOENT): ...', true);
    expect(explainKafkaError(new Error('kube job failed', { cause: own }), saslConfig)).toBe(own);
  });
});

describe('kafkajs log lines', () => {
  it("carry the caller's component once and kafkajs's logger name (no duplicate JSON key)", async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }).child({ component: 'kafka-sink' });
    await expect(
      connectKafkaSink(
        { kafka: { brokers: ['127.0.0.1:1'], connectionTimeoutMs: 300, retry: { retries: 0 } }, cluster: 'c', encoding: 'avro-binary', checkTopics: true },
        { logger },
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.split('"component":').length - 1, line).toBe(1);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ component: 'kafka-sink', kafkajs: 'Connection' }),
    );
  });
});

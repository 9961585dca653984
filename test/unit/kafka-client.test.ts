import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compressionType, headersToStrings, kafkaConfigOf } from '../../src/kafka/client.js';

describe('kafka client config', () => {
  it('maps TLS files, SASL mechanisms and timeouts to kafkajs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-tls-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), 'CA');
      writeFileSync(join(dir, 'cert.pem'), 'CERT');
      writeFileSync(join(dir, 'key.pem'), 'KEY');
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
        ssl: { ca: ['CA'], cert: 'CERT', key: 'KEY', rejectUnauthorized: true },
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

  it('offers gzip built in and refuses codecs that are not registered', () => {
    expect(compressionType('none')).toBe(0);
    expect(compressionType('gzip')).toBe(1);
    expect(() => compressionType('zstd')).toThrow(/@kafkajs\/zstd/);
    expect(() => compressionType('snappy')).toThrow(/kafkajs-snappy/);
  });

  it('reads header values as strings', () => {
    expect(headersToStrings({ a: Buffer.from('x'), b: 'y', c: [Buffer.from('z')], d: undefined })).toEqual({ a: 'x', b: 'y', c: 'z' });
  });
});

/**
 * A small in-process stand-in for a Confluent Schema Registry, for UNIT tests only.
 *
 * Integration tests use the real registry of the test environment (Apicurio Registry's Confluent
 * API, test/env/registry.sh), which also enforces compatibility. This implements just the REST
 * endpoints @kafkajs/confluent-schema-registry calls for register / look up / fetch by id, with the
 * registry's observable behaviour (ids global and stable per schema, versions per subject, 404
 * error codes). Compatibility levels are stored but not enforced.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Version {
  id: number;
  version: number;
  schema: string;
}

export interface FakeSchemaRegistry {
  url: string;
  /** requests served, "METHOD path" */
  requests: string[];
  /** registered schemas by id */
  schemas: Map<number, string>;
  close(): Promise<void>;
}

function normalize(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch {
    return schema;
  }
}

export async function startFakeSchemaRegistry(): Promise<FakeSchemaRegistry> {
  const schemas = new Map<number, string>();
  const idBySchema = new Map<string, number>();
  const subjects = new Map<string, Version[]>();
  const configs = new Map<string, string>();
  const requests: string[] = [];

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  const readBody = (req: IncomingMessage) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        try {
          resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
        } catch (error) {
          reject(error as Error);
        }
      });
      req.on('error', reject);
    });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    requests.push(`${req.method} ${path}`);
    void (async () => {
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && (m = /^\/schemas\/ids\/(\d+)$/.exec(path))) {
        const schema = schemas.get(Number(m[1]));
        return schema ? send(res, 200, { schema }) : send(res, 404, { error_code: 40403, message: 'Schema not found' });
      }
      if ((m = /^\/config\/(.+)$/.exec(path))) {
        const subject = m[1] as string;
        if (req.method === 'GET') {
          const level = configs.get(subject);
          return level ? send(res, 200, { compatibilityLevel: level }) : send(res, 404, { error_code: 40401, message: `Subject '${subject}' not found.` });
        }
        if (req.method === 'PUT') {
          const body = await readBody(req);
          configs.set(subject, String(body.compatibility));
          return send(res, 200, { compatibility: body.compatibility });
        }
      }
      if (req.method === 'POST' && (m = /^\/subjects\/(.+)\/versions$/.exec(path))) {
        const subject = m[1] as string;
        const body = await readBody(req);
        const text = String(body.schema);
        const norm = normalize(text);
        let id = idBySchema.get(norm);
        if (id === undefined) {
          id = schemas.size + 1;
          idBySchema.set(norm, id);
          schemas.set(id, text);
        }
        const versions = subjects.get(subject) ?? [];
        if (!versions.some((v) => v.id === id)) versions.push({ id, version: versions.length + 1, schema: text });
        subjects.set(subject, versions);
        return send(res, 200, { id });
      }
      if (req.method === 'POST' && (m = /^\/subjects\/([^/]+)$/.exec(path))) {
        const subject = m[1] as string;
        const body = await readBody(req);
        const versions = subjects.get(subject);
        if (!versions) return send(res, 404, { error_code: 40401, message: `Subject '${subject}' not found.` });
        const id = idBySchema.get(normalize(String(body.schema)));
        const found = versions.find((v) => v.id === id);
        return found
          ? send(res, 200, { subject, id: found.id, version: found.version, schema: found.schema })
          : send(res, 404, { error_code: 40403, message: 'Schema not found' });
      }
      if (req.method === 'GET' && (m = /^\/subjects\/([^/]+)\/versions\/latest$/.exec(path))) {
        const versions = subjects.get(m[1] as string);
        const last = versions?.[versions.length - 1];
        return last
          ? send(res, 200, { subject: m[1], id: last.id, version: last.version, schema: last.schema })
          : send(res, 404, { error_code: 40401, message: 'Subject not found.' });
      }
      send(res, 404, { error_code: 404, message: `fake registry: no route ${req.method} ${path}` });
    })().catch((error: unknown) => send(res, 500, { error_code: 500, message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    schemas,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

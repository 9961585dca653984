import { z } from 'zod';
import { defineSink } from './definition.js';
import { DEFAULT_TOPICS } from './kafka-topics.js';

const RESERVED: Record<string, string> = {
  [DEFAULT_TOPICS.DeadLetter]: 'dead letters (DeadLetter records)',
  [DEFAULT_TOPICS.Gap]: 'gap records (Gap records)',
};

export const fileSink = defineSink({
  type: 'file',
  summary:
    'An Avro object container file (deflate, schema embedded) under the --out directory: <out>/<name>.avro in a replay, 30 s segments <out>/<name>.<start>.avro in the live run. Pipelines writing the same name share the file; one record schema per file.',
  options: z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'a file name without directories: letters, digits, ".", "_" and "-"' })
      .optional()
      .describe('File name without extension. Default by record kind: k8s.events, k8s.alerts, k8s.incidents, k8s.event-windows.'),
  }),
  avro: true,
  target: (o, defaultName) => o.name ?? defaultName ?? undefined,
  describe: (_o, name, what) => `file ${name}.avro (Avro container) <- ${what}`,
  check(_o, name, report) {
    if (name !== undefined && RESERVED[name]) report(['name'], `"${name}" is reserved for ${RESERVED[name]}`, 'pick another name');
  },
  sink: (env) => env.files(),
});

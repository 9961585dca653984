/**
 * Renders a kustomization without kubectl, for machines that have none: the subset of kustomize
 * (v5) that deploy/ uses, and nothing else (anything else is refused, never silently ignored).
 *
 * - resources: YAML files (multi-document) and directories holding a kustomization
 * - namespace: set on namespaced objects; ServiceAccount subjects of (Cluster)RoleBindings that
 *   pointed at a namespace of this kustomization follow
 * - configMapGenerator: files (`key=path` or `path`), literals, options.labels/annotations,
 *   behavior create | merge | replace; names get kustomize's content hash suffix (computed as
 *   kustomize's api/hasher does) and references in pod templates are renamed
 * - images: newName / newTag / digest on containers and initContainers
 * - patches: JSON 6902 (add, remove, replace, test) on targets by group/version/kind/name/namespace
 *
 * test/integration/deploy-manifests.test.ts compares it with `kubectl kustomize` when kubectl is
 * there, so it cannot drift from the real thing unnoticed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';

export type KObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
  'IngressClass',
  'RuntimeClass',
]);

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'configMapGenerator', 'images', 'patches', 'generatorOptions']);

interface Generator {
  name: string;
  namespace?: string;
  behavior?: 'create' | 'merge' | 'replace';
  files?: string[];
  literals?: string[];
  options?: { labels?: Record<string, string>; annotations?: Record<string, string>; disableNameSuffixHash?: boolean };
}

interface Kustomization {
  resources?: string[];
  namespace?: string;
  configMapGenerator?: Generator[];
  generatorOptions?: { disableNameSuffixHash?: boolean; labels?: Record<string, string>; annotations?: Record<string, string> };
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  patches?: Array<{ path?: string; patch?: string; target?: { group?: string; version?: string; kind?: string; name?: string; namespace?: string } }>;
}

interface Built {
  objects: KObject[];
  /** generated ConfigMaps (by identity), to be hashed at the top */
  generated: Set<KObject>;
  noHash: Set<KObject>;
}

function fail(message: string): never {
  throw new Error(`kustomize-lite: ${message}`);
}

function readKustomization(dir: string): Kustomization {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) fail(`no kustomization in ${dir}`);
  const k = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(k)) if (!KNOWN_FIELDS.has(key)) fail(`${file}: field "${key}" is not supported`);
  return k as Kustomization;
}

function readObjects(file: string): KObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length) fail(`${file}: ${d.errors[0]!.message}`);
      return d.toJS() as KObject | null;
    })
    .filter((o): o is KObject => o !== null && typeof o === 'object');
}

const apiGroupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
const apiVersionOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[1]! : apiVersion);
const idOf = (o: KObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

// ------------------------------------------------------------------------- generators

function generatorData(dir: string, g: Generator): Record<string, string> {
  const data: Record<string, string> = {};
  for (const entry of g.files ?? []) {
    const eq = entry.indexOf('=');
    const key = eq >= 0 ? entry.slice(0, eq) : basename(entry);
    const path = eq >= 0 ? entry.slice(eq + 1) : entry;
    data[key] = readFileSync(resolve(dir, path), 'utf8');
  }
  for (const literal of g.literals ?? []) {
    const eq = literal.indexOf('=');
    if (eq < 0) fail(`literal "${literal}" is not key=value`);
    data[literal.slice(0, eq)] = literal.slice(eq + 1).replace(/^(["'])(.*)\1$/, '$2');
  }
  return data;
}

/** Go's encoding/json string escaping (HTML-safe: <, >, & escaped; \b and \f as \u00XX). */
function goString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's json.Marshal of maps (sorted keys), strings and other scalars. */
function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${goString(k)}:${goJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * kustomize's ConfigMap name suffix (api/hasher): sha256 of the JSON of kind, name and data, first
 * 10 hex digits with 0,1,3,a,e replaced. kustomize looks the name up as a single field named
 * "metadata/name", which does not exist, so the name it hashes is always "" (and absent data is "").
 */
export function configMapHash(cm: KObject): string {
  const data = (cm as { data?: unknown }).data;
  const binaryData = (cm as { binaryData?: unknown }).binaryData;
  const m: Record<string, unknown> = { kind: 'ConfigMap', name: '', data: data ?? '' };
  if (binaryData && typeof binaryData === 'object') m['binaryData'] = binaryData;
  const hex = createHash('sha256').update(goJson(m)).digest('hex');
  return hex.slice(0, 10).replace(/[013ae]/g, (c) => ({ '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' })[c]!);
}

// ------------------------------------------------------------------------- patches

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) fail(`bad JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJson6902(target: KObject, ops: Array<{ op: string; path: string; value?: unknown }>): void {
  for (const { op, path, value } of ops) {
    const parts = pointer(path);
    const last = parts.pop();
    if (last === undefined) fail(`cannot ${op} the whole document`);
    let parent: unknown = target;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : (parent as Record<string, unknown> | undefined)?.[p];
      if (parent === undefined || parent === null) fail(`${op} ${path}: path not found`);
    }
    const isArray = Array.isArray(parent);
    const container = parent as Record<string, unknown> & unknown[];
    const index = last === '-' ? container.length : Number(last);
    const exists = isArray ? index >= 0 && index < container.length : Object.prototype.hasOwnProperty.call(container, last);
    switch (op) {
      case 'test':
        if (!exists || JSON.stringify(isArray ? container[index] : container[last]) !== JSON.stringify(value)) fail(`test ${path} failed`);
        break;
      case 'replace':
        if (!exists) fail(`replace ${path}: path not found`);
        if (isArray) container[index] = structuredClone(value);
        else container[last] = structuredClone(value);
        break;
      case 'add':
        if (isArray) container.splice(index, 0, structuredClone(value));
        else container[last] = structuredClone(value);
        break;
      case 'remove':
        if (!exists) fail(`remove ${path}: path not found`);
        if (isArray) container.splice(index, 1);
        else delete container[last];
        break;
      default:
        fail(`JSON patch op "${op}" is not supported`);
    }
  }
}

// ------------------------------------------------------------------------- pod templates

type PodSpec = {
  containers?: Array<Record<string, unknown>>;
  initContainers?: Array<Record<string, unknown>>;
  volumes?: Array<Record<string, any>>;
};

function podSpecsOf(o: KObject): PodSpec[] {
  const spec = o['spec'] as Record<string, any> | undefined;
  if (!spec) return [];
  if (o.kind === 'Pod') return [spec as PodSpec];
  if (o.kind === 'CronJob') return spec['jobTemplate']?.spec?.template?.spec ? [spec['jobTemplate'].spec.template.spec] : [];
  return spec['template']?.spec ? [spec['template'].spec] : [];
}

function containersOf(spec: PodSpec): Array<Record<string, any>> {
  return [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
}

function renameConfigMapRefs(objects: KObject[], renames: Map<string, string>, namespaceOf: (o: KObject) => string): void {
  const rename = (o: KObject, name: unknown) => (typeof name === 'string' ? (renames.get(`${namespaceOf(o)}/${name}`) ?? name) : name);
  for (const o of objects) {
    for (const spec of podSpecsOf(o)) {
      for (const v of spec.volumes ?? []) {
        if (v['configMap']) v['configMap'].name = rename(o, v['configMap'].name);
        for (const s of v['projected']?.sources ?? []) if (s.configMap) s.configMap.name = rename(o, s.configMap.name);
      }
      for (const c of containersOf(spec)) {
        for (const e of (c['envFrom'] as Array<Record<string, any>> | undefined) ?? [])
          if (e['configMapRef']) e['configMapRef'].name = rename(o, e['configMapRef'].name);
        for (const e of (c['env'] as Array<Record<string, any>> | undefined) ?? []) {
          const ref = e['valueFrom']?.configMapKeyRef;
          if (ref) ref.name = rename(o, ref.name);
        }
      }
    }
  }
}

// ------------------------------------------------------------------------- build

function build(dir: string): Built {
  const k = readKustomization(dir);
  const out: Built = { objects: [], generated: new Set(), noHash: new Set() };
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) fail(`${dir}: resource ${entry} not found`);
    if (statSync(path).isDirectory()) {
      const sub = build(path);
      out.objects.push(...sub.objects);
      for (const g of sub.generated) out.generated.add(g);
      for (const g of sub.noHash) out.noHash.add(g);
    } else {
      out.objects.push(...readObjects(path));
    }
  }
  for (const g of k.configMapGenerator ?? []) {
    const data = generatorData(dir, g);
    const namespace = g.namespace ?? k.namespace;
    const behavior = g.behavior ?? 'create';
    const labels = { ...k.generatorOptions?.labels, ...g.options?.labels };
    const annotations = { ...k.generatorOptions?.annotations, ...g.options?.annotations };
    if (behavior === 'create') {
      const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name, ...(namespace ? { namespace } : {}) } };
      if (Object.keys(labels).length) cm.metadata.labels = labels;
      if (Object.keys(annotations).length) cm.metadata.annotations = annotations;
      if (Object.keys(data).length) cm['data'] = data;
      if (out.objects.some((o) => idOf(o) === idOf(cm))) fail(`ConfigMap ${g.name} generated twice (use behavior: merge or replace)`);
      out.objects.push(cm);
      out.generated.add(cm);
      if (g.options?.disableNameSuffixHash ?? k.generatorOptions?.disableNameSuffixHash) out.noHash.add(cm);
    } else {
      const existing = out.objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === g.name && (o.metadata.namespace ?? '') === (namespace ?? ''));
      if (!existing || !out.generated.has(existing)) fail(`${behavior}: no generated ConfigMap ${g.name} in the resources`);
      const merged = behavior === 'merge' ? { ...(existing['data'] as Record<string, string> | undefined), ...data } : data;
      if (Object.keys(merged).length) existing['data'] = merged;
      else delete existing['data'];
      if (Object.keys(labels).length) existing.metadata.labels = behavior === 'merge' ? { ...existing.metadata.labels, ...labels } : labels;
      if (Object.keys(annotations).length)
        existing.metadata.annotations = behavior === 'merge' ? { ...existing.metadata.annotations, ...annotations } : annotations;
    }
  }
  for (const image of k.images ?? []) {
    for (const o of out.objects) {
      for (const spec of podSpecsOf(o)) {
        for (const c of containersOf(spec)) {
          const ref = String(c['image'] ?? '');
          const [, base, tag, digest] = /^(.*?)(?::([^:/@]+))?(?:@(.+))?$/.exec(ref)!;
          if (base !== image.name) continue;
          const name = image.newName ?? base;
          if (image.digest) c['image'] = `${name}@${image.digest}`;
          else if (image.newTag) c['image'] = `${name}:${image.newTag}`;
          else c['image'] = `${name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
        }
      }
    }
  }
  for (const p of k.patches ?? []) {
    if (!p.target) fail('only patches with a target (JSON 6902) are supported');
    const text = p.patch ?? (p.path ? readFileSync(resolve(dir, p.path), 'utf8') : fail('patch without patch or path'));
    const ops = parse(text) as Array<{ op: string; path: string; value?: unknown }>;
    if (!Array.isArray(ops)) fail('only JSON 6902 patches (a list of operations) are supported');
    const t = p.target;
    const targets = out.objects.filter(
      (o) =>
        (!t.kind || o.kind === t.kind) &&
        (!t.name || o.metadata.name === t.name) &&
        (!t.namespace || o.metadata.namespace === t.namespace) &&
        (t.group === undefined || apiGroupOf(o.apiVersion) === t.group) &&
        (!t.version || apiVersionOf(o.apiVersion) === t.version),
    );
    if (targets.length === 0) fail(`patch target ${JSON.stringify(t)} matches nothing`);
    for (const o of targets) applyJson6902(o, ops);
  }
  if (k.namespace) {
    const previous = new Set(out.objects.map((o) => o.metadata.namespace).filter((n): n is string => Boolean(n)));
    for (const o of out.objects) {
      if (o.kind === 'Namespace') fail('namespace: with a Namespace object among the resources is not supported');
      if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
      if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
        for (const s of (o['subjects'] as Array<Record<string, string>> | undefined) ?? []) {
          if (s['kind'] === 'ServiceAccount' && (!s['namespace'] || previous.has(s['namespace']))) s['namespace'] = k.namespace;
        }
      }
    }
  }
  return out;
}

/** The objects `kubectl kustomize DIR` would print (in no particular order). */
export function kustomizeLite(dir: string): KObject[] {
  const built = build(resolve(dir));
  const renames = new Map<string, string>();
  for (const cm of built.generated) {
    if (built.noHash.has(cm)) continue;
    const hashed = `${cm.metadata.name}-${configMapHash(cm)}`;
    renames.set(`${cm.metadata.namespace ?? ''}/${cm.metadata.name}`, hashed);
    cm.metadata.name = hashed;
  }
  renameConfigMapRefs(built.objects, renames, (o) => o.metadata.namespace ?? '');
  return built.objects;
}

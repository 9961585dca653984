/**
 * Secrets of the alert sinks (webhook URLs carrying tokens, signing secrets, passwords) come from
 * the environment or from files, never from the configuration text:
 *
 *   url: ${env:DINGTALK_URL}        the whole value is a reference to an environment variable
 *   url: ${file:/etc/kubevents/url} ... or to a file (trailing newline dropped)
 *   urlFile: /etc/kubevents/url     the same, as a sibling key (urlFile, secretFile, passwordFile)
 *
 * An inline secret is refused at load with an error saying how to pass it instead. Resolved
 * values are registered with a Redactor that scrubs them from anything logged or dead-lettered.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

const REF_RE = /^\$\{(env|file):([^}]*)\}$/;
const ANY_REF_RE = /\$\{(env|file):/;

export interface SecretRef {
  source: 'env' | 'file';
  name: string;
}

/** The reference when the whole value is one, else null. */
export function parseSecretRef(value: string): SecretRef | null {
  const m = REF_RE.exec(value.trim());
  if (!m) return null;
  return { source: m[1] as 'env' | 'file', name: (m[2] as string).trim() };
}

/** A reference somewhere in the value but not as the whole value (`https://x/${env:T}`). */
export function hasEmbeddedRef(value: string): boolean {
  return ANY_REF_RE.test(value) && parseSecretRef(value) === null;
}

export class SecretError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SecretError';
  }
}

export interface SecretContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative file paths are resolved against (the configuration file's). */
  baseDir: string;
  readFile?: (path: string) => string;
}

/** Reads a secret file: the content without the trailing line break(s). */
export function readSecretFile(path: string, ctx: SecretContext): string {
  const full = isAbsolute(path) ? path : resolve(ctx.baseDir, path);
  let text: string;
  try {
    text = (ctx.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(full);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SecretError(`cannot read secret file ${full}${code ? ` (${code})` : ''}`, 'mount the secret as a file, e.g. from a Kubernetes Secret volume');
  }
  const value = text.replace(/[\r\n]+$/, '');
  if (value.trim() === '') throw new SecretError(`secret file ${full} is empty`);
  return value;
}

/** The value of a reference. Never puts the secret value in an error. */
export function resolveRef(ref: SecretRef, ctx: SecretContext): string {
  if (ref.name === '') throw new SecretError(`empty ${ref.source} reference`, ref.source === 'env' ? 'write ${env:NAME}' : 'write ${file:/path/to/file}');
  if (ref.source === 'file') return readSecretFile(ref.name, ctx);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.name)) throw new SecretError(`invalid environment variable name "${ref.name}"`);
  const value = ctx.env[ref.name];
  if (value === undefined)
    throw new SecretError(
      `environment variable ${ref.name} is not set`,
      'set it in the container spec, e.g. from a Kubernetes Secret with valueFrom.secretKeyRef',
    );
  if (value.trim() === '') throw new SecretError(`environment variable ${ref.name} is empty`);
  return value;
}

/** Header names whose values are credentials (their values must come from env or a file). */
export function isSensitiveHeader(name: string): boolean {
  return /^(authorization|proxy-authorization|cookie)$/i.test(name) || /(token|secret|api-?key|auth|signature|password)/i.test(name);
}

/** Whether a URL carries credentials: user info, or any query string (tokens usually travel there). */
export function urlCarriesCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '' || u.search !== '';
  } catch {
    return false;
  }
}

/**
 * Scrubs registered secret values from text (and URLs' query strings and user info from messages
 * that quote a URL). Keep one per process; every resolved secret is added at load.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(value: string | null | undefined): void {
    if (typeof value !== 'string' || value.length < 4) return;
    this.secrets.add(value);
    // the parts of a URL that carry tokens, in case a message quotes them separately
    try {
      const u = new URL(value);
      for (const v of u.searchParams.values()) if (v.length >= 4) this.secrets.add(v);
      if (u.password.length >= 4) this.secrets.add(decodeURIComponent(u.password));
      const lastSegment = u.pathname.split('/').pop() ?? '';
      if (lastSegment.length >= 16) this.secrets.add(lastSegment);
    } catch {
      // not a URL
    }
  }

  redact(text: string): string {
    let out = text;
    // longest first, so a URL is replaced whole before its token is
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]');
    return out;
  }

  get size(): number {
    return this.secrets.size;
  }
}

/** A URL safe to log: scheme, host and path for non-secret URLs; scheme and host only for secret ones. */
export function safeUrl(url: string, secret: boolean): string {
  try {
    const u = new URL(url);
    return secret ? `${u.protocol}//${u.host}/[redacted]` : `${u.protocol}//${u.host}${u.pathname}${u.search ? '?[redacted]' : ''}`;
  } catch {
    return '[invalid URL]';
  }
}

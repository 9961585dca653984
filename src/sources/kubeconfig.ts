/**
 * Building the KubeConfig for `kubevents run --source kube`.
 *
 * Precedence: an explicit kubeconfig path (--kubeconfig); else client-node's loadFromDefault:
 * $KUBECONFIG (several files, path-delimiter separated, are merged), ~/.kube/config, then the
 * in-cluster service account (/var/run/secrets/kubernetes.io/serviceaccount); `inCluster: true`
 * forces the service account. Then an optional context override (--context).
 */
import { KubeConfig } from '@kubernetes/client-node';

export class KubeConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

export interface KubeConfigOptions {
  /** Path of a kubeconfig file (--kubeconfig). */
  kubeconfig?: string | null;
  /** Context to use instead of the file's current-context (--context). */
  context?: string | null;
  /** Use the in-cluster service account, ignoring files and $KUBECONFIG. */
  inCluster?: boolean;
}

/** Loads a KubeConfig; throws KubeConfigError with a readable message when none can be found. */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.inCluster) {
      if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
        throw new KubeConfigError('in-cluster config requested but KUBERNETES_SERVICE_HOST/PORT are not set (not running in a Pod?)');
      }
      kc.loadFromCluster();
    } else if (options.kubeconfig) {
      kc.loadFromFile(options.kubeconfig);
    } else {
      kc.loadFromDefault();
      const cluster = kc.getCurrentCluster();
      if (kc.getCurrentContext() === 'loaded-context' && cluster?.server === 'http://localhost:8080') {
        throw new KubeConfigError(
          'no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a Pod with a service account',
        );
      }
    }
  } catch (error) {
    if (error instanceof KubeConfigError) throw error;
    const where = options.kubeconfig ?? (options.inCluster ? 'in-cluster service account' : process.env['KUBECONFIG'] || '~/.kube/config');
    throw new KubeConfigError(`cannot load kubeconfig from ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(`context "${options.context}" not found in kubeconfig (known: ${known.join(', ') || 'none'})`);
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubeconfig context "${kc.getCurrentContext()}" has no cluster`);
  if (!cluster.server) throw new KubeConfigError(`cluster "${cluster.name}" has no server URL`);
  return kc;
}

export interface KubeConfigSummary {
  context: string;
  cluster: string | null;
  server: string | null;
  user: string | null;
  /** The context's default namespace, when set. */
  namespace: string | null;
}

/** What the config points at, for logs (no credentials). */
export function describeKubeConfig(kc: KubeConfig): KubeConfigSummary {
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  return {
    context: kc.getCurrentContext(),
    cluster: cluster?.name ?? null,
    server: cluster?.server ?? null,
    user: kc.getCurrentUser()?.name ?? null,
    namespace: ctx?.namespace ?? null,
  };
}

/**
 * Namespaces from a --namespace value: a name, a comma-separated list, repeated flags, or
 * '', '*' / 'all' for all namespaces (null).
 */
export function parseNamespaces(value: string | readonly string[] | null | undefined): string[] | null {
  if (value === null || value === undefined) return null;
  const parts = (typeof value === 'string' ? [value] : value)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  if (parts.length === 0 || parts.includes('*') || parts.includes('all')) return null;
  return [...new Set(parts)];
}

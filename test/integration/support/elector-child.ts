/**
 * A leader-election candidate in its own process, for test/integration/leader-election.test.ts.
 *
 *   node elector-child.js KUBECONFIG NAMESPACE LEASE IDENTITY LEASE_MS RENEW_MS RETRY_MS
 *
 * Prints one JSON line per happening on stdout: {"event":"started"}, {"event":"leading"},
 * {"event":"stopped-leading","reason":...}, {"event":"holder","holder":...}, {"event":"exit"}.
 * While leading it "works": a heartbeat line {"event":"work","n":...} every 100 ms, which stops the
 * moment leadership ends. SIGTERM stops the elector (releasing the lease) and exits 0.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { interval, map } from 'rxjs';
import { LeaderElector, whileLeader } from '../../../src/ops/leader-election.js';

const [kubeconfig, namespace, name, identity, leaseMs, renewMs, retryMs] = process.argv.slice(2);
if (!kubeconfig || !namespace || !name || !identity) {
  process.stderr.write('usage: elector-child KUBECONFIG NAMESPACE LEASE IDENTITY [LEASE_MS RENEW_MS RETRY_MS]\n');
  process.exit(2);
}

const say = (event: string, fields: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ event, identity, t: Date.now(), ...fields })}\n`);

const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(kubeconfig);
const elector = new LeaderElector({
  kubeConfig,
  namespace,
  name,
  identity,
  leaseDurationMs: Number(leaseMs ?? 15_000),
  renewDeadlineMs: Number(renewMs ?? 10_000),
  retryPeriodMs: Number(retryMs ?? 2_000),
  onStartedLeading: () => say('leading'),
  onStoppedLeading: (reason) => say('stopped-leading', { reason }),
  onNewLeader: (holder) => say('holder', { holder }),
});
const work = whileLeader(elector.isLeader$, () => interval(100).pipe(map((n) => n))).subscribe((n) => say('work', { n }));

process.on('SIGTERM', () => {
  void elector.stop().then(() => {
    work.unsubscribe();
    say('exit');
    process.exit(0);
  });
});
elector.start();
say('started');

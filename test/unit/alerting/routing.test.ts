import { describe, expect, it } from 'vitest';
import { parseMatcher } from '../../../src/alerting/matchers.js';
import { buildRoute, describeRoute, matchRoutes, receiversFor, type RouteSpec } from '../../../src/alerting/routing.js';

const m = (...texts: string[]) => texts.map(parseMatcher);

/**
 * root -> default
 *   1 severity="critical" -> oncall (continue)
 *   2 namespace=~"kube-.*" -> platform
 *       2.1 category="Node" -> nodes
 *       2.2 category="OOM" (no receiver: inherits platform) with continue
 *       2.3 severity=~"critical|error" -> platform-urgent
 *   3 team="payments" -> payments
 */
const spec: RouteSpec = {
  receiver: 'default',
  routes: [
    { matchers: m('severity="critical"'), receiver: 'oncall', continue: true },
    {
      matchers: m('namespace=~"kube-.*"'),
      receiver: 'platform',
      routes: [
        { matchers: m('category="Node"'), receiver: 'nodes' },
        { matchers: m('category="OOM"'), continue: true },
        { matchers: m('severity=~"critical|error"'), receiver: 'platform-urgent' },
      ],
    },
    { matchers: m('team="payments"'), receiver: 'payments' },
  ],
};
const route = buildRoute(spec);

describe('route tree (Alertmanager semantics)', () => {
  it('sends what no child takes to the default receiver', () => {
    expect(receiversFor(route, { severity: 'warning', namespace: 'shop' })).toEqual(['default']);
  });

  it('stops at the first matching child unless it has continue', () => {
    // payments only (route 3), nothing else matches
    expect(receiversFor(route, { severity: 'warning', team: 'payments' })).toEqual(['payments']);
    // critical: oncall (continue) then payments
    expect(receiversFor(route, { severity: 'critical', team: 'payments' })).toEqual(['oncall', 'payments']);
    // critical in kube-system: oncall (continue), then route 2 matches and stops the search: route 3 is not tried
    expect(receiversFor(route, { severity: 'critical', namespace: 'kube-system', team: 'payments', category: 'Scheduling' })).toEqual([
      'oncall',
      'platform-urgent',
    ]);
  });

  it('descends into children; a parent whose children do not match is the match', () => {
    expect(receiversFor(route, { namespace: 'kube-system', category: 'Node' })).toEqual(['nodes']);
    expect(receiversFor(route, { namespace: 'kube-system', category: 'Scheduling', severity: 'warning' })).toEqual(['platform']);
  });

  it('inherits the receiver of the parent, and continue goes on to later siblings', () => {
    const routes = matchRoutes(route, { namespace: 'kube-public', category: 'OOM', severity: 'error' });
    expect(routes.map((r) => r.path)).toEqual(['route.routes[1].routes[1]', 'route.routes[1].routes[2]']);
    expect(routes.map((r) => r.receiver)).toEqual(['platform', 'platform-urgent']);
  });

  it('notifies a receiver once even when several matching routes name it', () => {
    const r = buildRoute({
      receiver: 'a',
      routes: [
        { matchers: m('x="1"'), receiver: 'b', continue: true },
        { matchers: m('y="1"'), receiver: 'b' },
      ],
    });
    expect(matchRoutes(r, { x: '1', y: '1' })).toHaveLength(2);
    expect(receiversFor(r, { x: '1', y: '1' })).toEqual(['b']);
  });

  it('needs a receiver on the root and describes the tree', () => {
    expect(() => buildRoute({ routes: [] })).toThrow(/root route needs a receiver/);
    expect(describeRoute(route)).toBe(
      [
        'route -> default',
        '  - {severity="critical"} -> oncall (continue)',
        '  - {namespace=~"kube-.*"} -> platform',
        '    - {category="Node"} -> nodes',
        '    - {category="OOM"} -> platform (continue)',
        '    - {severity=~"critical|error"} -> platform-urgent',
        '  - {team="payments"} -> payments',
      ].join('\n'),
    );
  });
});

/**
 * The routing tree, with Alertmanager's semantics (without grouping, which happens upstream):
 *
 * - a route matches a record when all its matchers do; the root route matches everything;
 * - the children of a matching route are tried in order; the first child that matches (directly
 *   or through its own children) ends the search unless it has `continue: true`, in which case
 *   the following siblings are tried too;
 * - when no child matches, the route itself is the match, and its receiver gets the record;
 * - a route without a receiver inherits its parent's.
 *
 * A record goes to each receiver at most once even when several matching routes name it.
 */
import { matchesAll, type Matcher } from './matchers.js';

export interface Route {
  receiver: string;
  matchers: Matcher[];
  continue: boolean;
  routes: Route[];
  /** e.g. route.routes[1].routes[0], for logs and --check */
  path: string;
}

export interface RouteSpec {
  receiver?: string | undefined;
  matchers?: Matcher[] | undefined;
  continue?: boolean | undefined;
  routes?: RouteSpec[] | undefined;
}

/** Builds the tree from its spec, inheriting receivers. The root needs a receiver. */
export function buildRoute(spec: RouteSpec, parentReceiver: string | null = null, path = 'route'): Route {
  const receiver = spec.receiver ?? parentReceiver;
  if (!receiver) throw new Error(`${path}: the root route needs a receiver (the default one)`);
  return {
    receiver,
    matchers: spec.matchers ?? [],
    continue: spec.continue ?? false,
    routes: (spec.routes ?? []).map((child, i) => buildRoute(child, receiver, `${path}.routes[${i}]`)),
    path,
  };
}

/** The routes that take a record with these labels (Alertmanager's Route.Match). */
export function matchRoutes(route: Route, labels: Readonly<Record<string, string>>): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: Route[] = [];
  for (const child of route.routes) {
    const found = matchRoutes(child, labels);
    all.push(...found);
    if (found.length > 0 && !child.continue) break;
  }
  if (all.length === 0) all.push(route);
  return all;
}

/** The receivers a record goes to, in route order, each once. */
export function receiversFor(route: Route, labels: Readonly<Record<string, string>>): string[] {
  return [...new Set(matchRoutes(route, labels).map((r) => r.receiver))];
}

/** The tree as indented text, for `kubevents alerts --check`. */
export function describeRoute(route: Route, indent = ''): string {
  const matchers = route.matchers.length ? ` {${route.matchers.map((m) => m.text).join(', ')}}` : '';
  const lines = [`${indent}${route.path === 'route' ? 'route' : '-'}${matchers} -> ${route.receiver}${route.continue ? ' (continue)' : ''}`];
  for (const child of route.routes) lines.push(describeRoute(child, `${indent}  `));
  return lines.join('\n');
}

/** Every receiver name the tree refers to. */
export function routeReceivers(route: Route): Set<string> {
  const out = new Set<string>([route.receiver]);
  for (const child of route.routes) for (const r of routeReceivers(child)) out.add(r);
  return out;
}

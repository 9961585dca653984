import { describe, expect, it } from 'vitest';
import { matches, matchesAll, MatcherSyntaxError, parseMatcher } from '../../../src/alerting/matchers.js';

const labels = { severity: 'critical', namespace: 'kube-system', category: 'OOM', cluster: 'prod-1', team: 'payments' };

describe('matchers (Alertmanager syntax)', () => {
  it('parses the four operators, quoted and bare values', () => {
    expect(parseMatcher('severity="critical"')).toMatchObject({ name: 'severity', op: '=', value: 'critical' });
    expect(parseMatcher(' namespace != kube-system ')).toMatchObject({ name: 'namespace', op: '!=', value: 'kube-system' });
    expect(parseMatcher('category=~"OOM|CrashLoop"')).toMatchObject({ op: '=~', value: 'OOM|CrashLoop' });
    expect(parseMatcher('cluster!~"dev-.*"')).toMatchObject({ op: '!~', value: 'dev-.*' });
    expect(parseMatcher('msg="say \\"hi\\" \\\\ bye"').value).toBe('say "hi" \\ bye');
  });

  it('matches = and != exactly, =~ and !~ anchored at both ends', () => {
    expect(matches(parseMatcher('severity="critical"'), labels)).toBe(true);
    expect(matches(parseMatcher('severity="crit"'), labels)).toBe(false);
    expect(matches(parseMatcher('severity!="warning"'), labels)).toBe(true);
    expect(matches(parseMatcher('category=~"OOM|CrashLoop"'), labels)).toBe(true);
    // anchored: "kube" alone does not match "kube-system"
    expect(matches(parseMatcher('namespace=~"kube"'), labels)).toBe(false);
    expect(matches(parseMatcher('namespace=~"kube-.*"'), labels)).toBe(true);
    expect(matches(parseMatcher('cluster!~"prod-.*"'), labels)).toBe(false);
    expect(matches(parseMatcher('cluster!~"dev-.*"'), labels)).toBe(true);
  });

  it('treats an absent label as the empty string, like Alertmanager', () => {
    expect(matches(parseMatcher('owner=""'), labels)).toBe(true);
    expect(matches(parseMatcher('owner!="x"'), labels)).toBe(true);
    expect(matches(parseMatcher('owner=~".*"'), labels)).toBe(true);
    expect(matches(parseMatcher('owner=~".+"'), labels)).toBe(false);
  });

  it('requires every matcher of a list', () => {
    expect(matchesAll([parseMatcher('severity="critical"'), parseMatcher('team="payments"')], labels)).toBe(true);
    expect(matchesAll([parseMatcher('severity="critical"'), parseMatcher('team="web"')], labels)).toBe(false);
    expect(matchesAll([], labels)).toBe(true);
  });

  it('refuses malformed matchers with a hint', () => {
    expect(() => parseMatcher('severity')).toThrow(MatcherSyntaxError);
    expect(() => parseMatcher('severity=="x"')).toThrow(/unbalanced|invalid/);
    expect(() => parseMatcher('team=payments"')).toThrow(/unbalanced quote/);
    expect(() => parseMatcher('team="payments')).toThrow(/unterminated/);
    expect(() => parseMatcher('severity=~"(critical"')).toThrow(/invalid regular expression/);
    try {
      parseMatcher('=x');
    } catch (error) {
      expect((error as MatcherSyntaxError).hint).toMatch(/severity="critical"/);
    }
  });
});

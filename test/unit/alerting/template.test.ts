import { describe, expect, it } from 'vitest';
import { compileTemplate, jsonStringEscape, slackEscape, TemplateSyntaxError } from '../../../src/alerting/template.js';

const render = (source: string, view: unknown, escape?: (s: string) => string) => compileTemplate(source).render(view, escape ? { escape } : {});

describe('notification templates (Mustache subset)', () => {
  it('renders variables, dotted names, escaped and raw', () => {
    const view = { a: 'x<y>&z', n: 3, nil: null, labels: { team: 'pay' }, list: ['p', 'q'] };
    expect(render('{{a}} {{n}} [{{nil}}] {{labels.team}} {{list}} {{missing.deep}}', view)).toBe('x<y>&z 3 [] pay p, q ');
    expect(render('{{a}}|{{{a}}}|{{& a}}', view, slackEscape)).toBe('x&lt;y&gt;&amp;z|x<y>&z|x<y>&z');
    expect(render('{"t": "{{a}}"}', { a: 'say "hi"\n' }, jsonStringEscape)).toBe('{"t": "say \\"hi\\"\\n"}');
  });

  it('repeats sections over lists, shows them once for truthy values, inverts with ^', () => {
    const view = {
      items: [
        { name: 'a', v: 1 },
        { name: 'b', v: 2 },
      ],
      flag: true,
      off: false,
      empty: [],
      word: 'w',
      zero: 0,
      outer: 'O',
    };
    expect(render('{{#items}}{{name}}={{v}}{{outer}};{{/items}}', view)).toBe('a=1O;b=2O;');
    expect(render('{{#flag}}yes{{/flag}}{{#off}}no{{/off}}{{^off}}not-off{{/off}}{{^empty}}none{{/empty}}{{#empty}}x{{/empty}}', view)).toBe('yesnot-offnone');
    expect(render('{{#word}}[{{.}}]{{/word}}{{#zero}}z{{/zero}}', view)).toBe('[w]');
    expect(render('{{#items}}{{#v}}({{.}}){{/v}}{{/items}}', view)).toBe('(1)(2)');
  });

  it('drops the lines of standalone section tags and comments', () => {
    const source = ['Title', '{{#items}}', '- {{.}}', '{{/items}}', '  {{! a comment }}', '{{^items}}', 'none', '{{/items}}', 'End'].join('\n');
    expect(render(source, { items: ['a', 'b'] })).toBe('Title\n- a\n- b\nEnd');
    expect(render(source, { items: [] })).toBe('Title\nnone\nEnd');
    // a tag sharing its line with text is not standalone
    expect(render('a {{#f}}\nb{{/f}} c', { f: true })).toBe('a \nb c');
  });

  it('reports syntax errors with the line and column in the template', () => {
    const cases: Array<[string, RegExp, number, number]> = [
      ['ok\n  {{#a}}x', /section \{\{#a\}\} is never closed/, 2, 3],
      ['{{#a}}{{/b}}', /does not close/, 1, 7],
      ['x {{/a}}', /closes nothing/, 1, 3],
      ['x {{ bad name }}', /invalid name/, 1, 3],
      ['x {{a', /unclosed tag/, 1, 3],
      ['{{}}', /empty tag/, 1, 1],
    ];
    for (const [source, message, line, column] of cases) {
      try {
        compileTemplate(source);
        expect.fail(`no error for ${source}`);
      } catch (error) {
        expect(error).toBeInstanceOf(TemplateSyntaxError);
        expect((error as Error).message).toMatch(message);
        expect([(error as TemplateSyntaxError).line, (error as TemplateSyntaxError).column], source).toEqual([line, column]);
      }
    }
  });

  it('finds names that resolve nowhere (typos), checked at configuration load', () => {
    const t = compileTemplate('{{summary}} {{sumary}}\n{{#items}}{{name}} {{nmae}}{{/items}} {{labels.anything}}');
    expect(t.unknownNames({ summary: 's', items: [{ name: 'n' }], labels: {} })).toEqual([
      { name: 'sumary', line: 1, column: 13 },
      { name: 'nmae', line: 2, column: 20 },
    ]);
  });
});

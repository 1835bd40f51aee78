import { isLocalDate } from './dates';
/**
 * CQL2-text, the Basic CQL2 subset (OGC API – Features Part 3): comparisons `=`, `<>`, `<`,
 * `<=`, `>`, `>=` between a property and a literal (a 'string' with '' for a quote, a
 * number, DATE('YYYY-MM-DD')), `IS [NOT] NULL`, `AND`, `OR`, `NOT` and parentheses.
 * Keywords in any case; property names plain (`incidence_per_100k_7d`) or "double-quoted".
 *
 * Hand-written: no maintained CQL2 parser exists on npm (searched 2026-12-02: `npm view`
 * of cql2, cql2-js, cql2-text-parser, ogc-cql2, cql2-filters-parser, @developmentseed/cql2 —
 * all 404; the registry lists in /work/.library/env/packages hold no cql2 package).
 *
 * Parsing is pure (`parseCql2`: text → AST, or a Cql2Error with the position); `checkCql2`
 * types it against the allowed properties; `cql2ToSql` turns it into SQL over named columns
 * with every literal a bind (`?`), never spliced into the text. Work is bounded: at most
 * MAX_CQL2_CHARS characters, MAX_CQL2_DEPTH nested groups, MAX_CQL2_TERMS comparisons.
 */

export const MAX_CQL2_CHARS = 4096;
export const MAX_CQL2_DEPTH = 16;
export const MAX_CQL2_TERMS = 64;

export type Cql2Literal = { type: 'string'; value: string } | { type: 'number'; value: number } | { type: 'date'; value: string };
export type Cql2Op = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type Cql2 =
  | { op: 'and' | 'or'; args: Cql2[] }
  | { op: 'not'; arg: Cql2 }
  | { op: Cql2Op; property: string; value: Cql2Literal }
  | { op: 'isNull'; property: string };

/** A filter that cannot be read or is not allowed: the reason, and where (0-based character) when it is a syntax error. */
export class Cql2Error extends Error {
  constructor(
    message: string,
    readonly position: number | null = null,
  ) {
    super(position === null ? message : `${message} (at character ${position + 1})`);
  }
}

type Token =
  | { t: 'ident'; v: string; at: number }
  | { t: 'string'; v: string; at: number }
  | { t: 'number'; v: number; at: number }
  | { t: 'op'; v: Cql2Op; at: number }
  | { t: '(' | ')' | 'end'; at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IS', 'NULL', 'DATE']);

function tokenize(text: string): Token[] {
  // a NUL or another control character has no place in a filter (and PostgreSQL stores no NUL)
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) throw new Cql2Error('a control character', control.index);
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === '(' || c === ')') {
      tokens.push({ t: c, at });
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Cql2Error('a string is not closed', at);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i];
        i++;
      }
      tokens.push({ t: 'string', v, at });
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new Cql2Error('a quoted property name is not closed', at);
      const v = text.slice(i + 1, end);
      if (!v) throw new Cql2Error('an empty property name', at);
      tokens.push({ t: 'ident', v, at });
      i = end + 1;
    } else if (/[-+0-9.]/.test(c)) {
      const m = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i));
      if (!m) throw new Cql2Error(`unexpected '${c}'`, at);
      const v = Number(m[0]);
      if (!Number.isFinite(v)) throw new Cql2Error('a number out of range', at);
      tokens.push({ t: 'number', v, at });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.:]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'ident', v: m[0], at });
      i += m[0].length;
    } else {
      const m = /^(<>|<=|>=|=|<|>)/.exec(text.slice(i));
      if (!m) throw new Cql2Error(`unexpected '${c}'`, at);
      tokens.push({ t: 'op', v: m[0] as Cql2Op, at });
      i += m[0].length;
    }
  }
  tokens.push({ t: 'end', at: text.length });
  return tokens;
}

const FLIP: Record<Cql2Op, Cql2Op> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

/**
 * Parses CQL2-text into its AST: `a AND b AND c` is one `and` of three, NOT binds tighter
 * than AND, AND tighter than OR; `5 < x` reads as `x > 5`. Throws Cql2Error (with the
 * character) on anything else, on text longer than MAX_CQL2_CHARS, deeper than
 * MAX_CQL2_DEPTH or with more than MAX_CQL2_TERMS comparisons.
 */
export function parseCql2(text: string): Cql2 {
  if (text.length > MAX_CQL2_CHARS) throw new Cql2Error(`longer than ${MAX_CQL2_CHARS} characters`);
  if (!text.trim()) throw new Cql2Error('empty');
  const tokens = tokenize(text);
  let pos = 0;
  let terms = 0;
  const peek = () => tokens[pos] as Token;
  const keyword = (word: string) => {
    const t = peek();
    return t.t === 'ident' && t.v.toUpperCase() === word;
  };
  const describe = (t: Token) => (t.t === 'end' ? 'the end' : `'${'v' in t ? String(t.v) : t.t}'`);

  const literal = (): Cql2Literal | null => {
    const t = peek();
    if (t.t === 'string') {
      pos++;
      return { type: 'string', value: t.v };
    }
    if (t.t === 'number') {
      pos++;
      return { type: 'number', value: t.v };
    }
    if (keyword('DATE') && tokens[pos + 1]?.t === '(') {
      pos += 2;
      const s = peek();
      if (s.t !== 'string' || !isDate(s.v)) throw new Cql2Error("DATE needs a date 'YYYY-MM-DD' (years 1900–2999)", s.at);
      pos++;
      if (peek().t !== ')') throw new Cql2Error(`expected ')' but found ${describe(peek())}`, peek().at);
      pos++;
      return { type: 'date', value: s.v };
    }
    return null;
  };
  const property = (): string | null => {
    const t = peek();
    // DATE is a property name unless a literal DATE('…') follows (a feature's `date`)
    const upper = t.t === 'ident' ? t.v.toUpperCase() : '';
    if (t.t !== 'ident' || (KEYWORDS.has(upper) && !(upper === 'DATE' && tokens[pos + 1]?.t !== '('))) return null;
    pos++;
    return t.v;
  };

  const comparison = (depth: number): Cql2 => {
    const start = peek();
    if (start.t === '(') {
      if (depth >= MAX_CQL2_DEPTH) throw new Cql2Error(`nested deeper than ${MAX_CQL2_DEPTH}`, start.at);
      pos++;
      const inner = or(depth + 1);
      if (peek().t !== ')') throw new Cql2Error(`expected ')' but found ${describe(peek())}`, peek().at);
      pos++;
      return inner;
    }
    if (++terms > MAX_CQL2_TERMS) throw new Cql2Error(`more than ${MAX_CQL2_TERMS} comparisons`, start.at);
    const name = property();
    if (name !== null) {
      if (keyword('IS')) {
        pos++;
        const negated = keyword('NOT');
        if (negated) pos++;
        if (!keyword('NULL')) throw new Cql2Error(`expected NULL but found ${describe(peek())}`, peek().at);
        pos++;
        const test: Cql2 = { op: 'isNull', property: name };
        return negated ? { op: 'not', arg: test } : test;
      }
      const op = peek();
      if (op.t !== 'op') throw new Cql2Error(`expected a comparison (= <> < <= > >=) but found ${describe(op)}`, op.at);
      pos++;
      const value = literal();
      if (!value) throw new Cql2Error(`expected a literal ('text', a number or DATE('YYYY-MM-DD')) but found ${describe(peek())}`, peek().at);
      return { op: op.v, property: name, value };
    }
    const value = literal();
    if (!value) throw new Cql2Error(`expected a property, a literal or '(' but found ${describe(start)}`, start.at);
    const op = peek();
    if (op.t !== 'op') throw new Cql2Error(`expected a comparison (= <> < <= > >=) but found ${describe(op)}`, op.at);
    pos++;
    const other = property();
    if (other === null) throw new Cql2Error(`a comparison needs a property on one side but found ${describe(peek())}`, peek().at);
    return { op: FLIP[op.v], property: other, value };
  };
  const not = (depth: number): Cql2 => {
    if (keyword('NOT')) {
      const at = peek().at;
      pos++;
      if (depth >= MAX_CQL2_DEPTH) throw new Cql2Error(`nested deeper than ${MAX_CQL2_DEPTH}`, at);
      return { op: 'not', arg: not(depth + 1) };
    }
    return comparison(depth);
  };
  const and = (depth: number): Cql2 => {
    const args = [not(depth)];
    while (keyword('AND')) {
      pos++;
      args.push(not(depth));
    }
    return args.length === 1 ? (args[0] as Cql2) : { op: 'and', args };
  };
  const or = (depth: number): Cql2 => {
    const args = [and(depth)];
    while (keyword('OR')) {
      pos++;
      args.push(and(depth));
    }
    return args.length === 1 ? (args[0] as Cql2) : { op: 'or', args };
  };

  const ast = or(0);
  if (peek().t !== 'end') throw new Cql2Error(`unexpected ${describe(peek())}`, peek().at);
  return ast;
}

/** A calendar day the service can hold (src/domain/dates.ts: years 1900–2999). */
function isDate(s: string): boolean {
  return isLocalDate(s);
}

/** What a property holds, for a filter: text, a number, or a calendar date. */
export type Cql2Type = 'string' | 'number' | 'date';

/**
 * Checks a parsed filter against the properties it may name and their types: an unknown
 * property, or a literal of the wrong type (`level > 5`, `population = 'many'`, a date
 * property against anything but a date), is a Cql2Error naming it.
 */
export function checkCql2(ast: Cql2, properties: Readonly<Record<string, Cql2Type>>): void {
  const typeOf = (name: string): Cql2Type => {
    const t = Object.hasOwn(properties, name) ? properties[name] : undefined;
    if (!t) throw new Cql2Error(`unknown property ${name} (queryable: ${Object.keys(properties).join(', ')})`);
    return t;
  };
  switch (ast.op) {
    case 'and':
    case 'or':
      for (const a of ast.args) checkCql2(a, properties);
      return;
    case 'not':
      checkCql2(ast.arg, properties);
      return;
    case 'isNull':
      typeOf(ast.property);
      return;
    default: {
      const t = typeOf(ast.property);
      const v = ast.value;
      const ok = t === 'date' ? v.type === 'date' || (v.type === 'string' && isDate(v.value)) : v.type === t;
      if (!ok) throw new Cql2Error(`${ast.property} is ${t === 'date' ? "a date: compare it with DATE('YYYY-MM-DD')" : `a ${t}`}, not ${v.type === 'number' ? 'a number' : `'${v.value}'`}`);
    }
  }
}

/**
 * The (checked) filter as a SQL condition over `column(name)` (a trusted column expression
 * for each allowed property, and its type), with every literal a `?` bind in `binds`, in
 * order, cast to the property's type (float8, date, text). SQL's three-valued logic is
 * CQL2's: a comparison with a null is not true, nor is its negation.
 */
export function cql2ToSql(ast: Cql2, column: (name: string) => { sql: string; type: Cql2Type }): { sql: string; binds: (string | number)[] } {
  const binds: (string | number)[] = [];
  const walk = (a: Cql2): string => {
    switch (a.op) {
      case 'and':
      case 'or':
        return `(${a.args.map(walk).join(a.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${walk(a.arg)})`;
      case 'isNull':
        return `(${column(a.property).sql} IS NULL)`;
      default: {
        const { sql, type } = column(a.property);
        binds.push(a.value.value);
        return `(${sql} ${a.op} ?::${type === 'number' ? 'float8' : type === 'date' ? 'date' : 'text'})`;
      }
    }
  };
  return { sql: walk(ast), binds };
}

/**
 * JSON.parse with a usable error: the line and column of the first syntax error (Node's own
 * messages give a position only sometimes). The locating scan runs only after JSON.parse failed.
 */

export interface JsonSyntaxProblem {
  line: number;
  column: number;
  reason: string;
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; problem: JsonSyntaxProblem };

export function parseJsonText(text: string): JsonParseResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    const found = findSyntaxError(body) ?? { offset: 0, reason: (error as Error).message };
    return { ok: false, problem: { ...lineAndColumn(body, found.offset), reason: found.reason } };
  }
}

/** `oneLine`: the text was one JSONL line, whose number the finding already carries. */
export function describeJsonProblem(problem: JsonSyntaxProblem, oneLine = false): string {
  const where = oneLine ? `column ${problem.column}` : `line ${problem.line}, column ${problem.column}`;
  return `invalid JSON at ${where}: ${problem.reason}`;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line += 1;
    lineStart = index + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

interface Failure {
  offset: number;
  reason: string;
}

/** Scans `text` as JSON (RFC 8259) without building values; iterative, so depth cannot overflow. */
function findSyntaxError(text: string): Failure | undefined {
  const containers: ('{' | '[')[] = [];
  let index = 0;
  let state: 'value' | 'key' | 'after' = 'value';
  const fail = (reason: string): Failure => ({ offset: index, reason: index >= text.length ? 'unexpected end of input' : reason });
  const skipSpace = (): void => {
    while (index < text.length && ' \t\n\r'.includes(text[index] as string)) index += 1;
  };
  const scanString = (): Failure | undefined => {
    index += 1;
    while (index < text.length) {
      const char = text[index] as string;
      if (char === '"') {
        index += 1;
        return undefined;
      }
      if (char.charCodeAt(0) < 0x20) return fail('control character in string (escape it)');
      if (char === '\\') {
        const escape = text[index + 1] ?? '';
        if (escape === 'u' && HEX4.test(text.slice(index + 2, index + 6))) index += 6;
        else if (ESCAPES.has(escape)) index += 2;
        else return fail('invalid escape in string');
      } else {
        index += 1;
      }
    }
    return fail('unterminated string');
  };
  for (;;) {
    skipSpace();
    const char = text[index];
    if (state === 'key') {
      if (char !== '"') return fail('expected a property name in double quotes');
      const problem = scanString();
      if (problem) return problem;
      skipSpace();
      if (text[index] !== ':') return fail("expected ':' after the property name");
      index += 1;
      state = 'value';
    } else if (state === 'value') {
      if (char === '{' || char === '[') {
        index += 1;
        skipSpace();
        if (text[index] === (char === '{' ? '}' : ']')) {
          index += 1;
          state = 'after';
        } else {
          containers.push(char);
          state = char === '{' ? 'key' : 'value';
        }
      } else if (char === '"') {
        const problem = scanString();
        if (problem) return problem;
        state = 'after';
      } else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
        NUMBER.lastIndex = index;
        const match = NUMBER.exec(text);
        if (!match) return fail('invalid number');
        index += match[0].length;
        state = 'after';
      } else {
        const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, index));
        if (!literal) return fail(`unexpected character ${JSON.stringify(char)}`);
        index += literal.length;
        state = 'after';
      }
    } else {
      const open = containers.at(-1);
      if (open === undefined) return index < text.length ? fail('unexpected text after the JSON value') : undefined;
      if (char === ',') {
        index += 1;
        state = open === '{' ? 'key' : 'value';
      } else if (char === (open === '{' ? '}' : ']')) {
        index += 1;
        containers.pop();
      } else {
        return fail(open === '{' ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
  }
}

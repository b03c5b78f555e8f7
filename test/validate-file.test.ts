import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { SourceError } from '../src/errors.js';
import { parseJsonText } from '../src/validate/json-text.js';
import { validateFile, validateStream } from '../src/validate/index.js';

const dir = mkdtempSync(join(tmpdir(), 'validate-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const video = { fps: 30, duration: 1, width: 2, height: 2, file_size: 3, mime_type: 'video/mp4' };

describe('parseJsonText', () => {
  const cases: [string, string, number, number, RegExp][] = [
    ['trailing comma in an object', '{\n  "a": 1,\n}', 3, 1, /property name/],
    ['trailing comma in an array', '[1, 2,]', 1, 7, /unexpected character "\]"/],
    ['missing colon', '{"a" 1}', 1, 6, /':'/],
    ['missing comma', '{"a": 1 "b": 2}', 1, 9, /',' or '}'/],
    ['unterminated string', '{"a": "abc', 1, 11, /unexpected end of input/],
    ['raw newline in a string', '{"a": "x\ny"}', 1, 9, /control character/],
    ['bad escape', '["\\x"]', 1, 3, /escape/],
    ['two documents', '{}\n{}', 2, 1, /after the JSON value/],
    ['single quotes', "{'a': 1}", 1, 2, /property name/],
    ['NaN', '{"a": NaN}', 1, 7, /unexpected character "N"/],
    ['leading zero', '[01]', 1, 3, /',' or '\]'/],
    ['truncated', '{"videos": [{"objectUrl": "x"}', 1, 31, /unexpected end of input/],
  ];
  it.each(cases)('%s', (_name, text, line, column, reason) => {
    const result = parseJsonText(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toMatchObject({ line, column });
    expect(result.problem.reason).toMatch(reason);
  });

  it('parses valid JSON, with or without a byte order mark', () => {
    expect(parseJsonText('\uFEFF{"a": [1, "b", null]}')).toEqual({ ok: true, value: { a: [1, 'b', null] } });
  });

  it('locates errors in deeply nested input without overflowing', () => {
    const text = `${'['.repeat(100_000)}1,]${']'.repeat(99_999)}`;
    const result = parseJsonText(text);
    expect(result.ok ? undefined : result.problem).toMatchObject({ line: 1, column: 100_003 });
  });
});

describe('validateFile', () => {
  it('validates a pretty-printed JSON document', async () => {
    const path = file('upload.json', JSON.stringify({ videos: [{ objectUrl: 's3://b/v.mp4', videoMetadata: video }] }, null, 2));
    expect(await validateFile(path)).toMatchObject({ file: path, format: 'json', kind: 'upload-file', documents: 1, valid: true, findings: [] });
  });

  it('reports malformed JSON with its line and column', async () => {
    const path = file('broken.json', '{\n  "videos": [\n    {"objectUrl": "s3://b/v.mp4",}\n  ]\n}\n');
    const result = await validateFile(path);
    expect(result.valid).toBe(false);
    expect(result.findings).toEqual([
      { pointer: '', code: 'invalid_json', severity: 'error', message: "invalid JSON at line 3, column 34: expected a property name in double quotes", file: path },
    ]);
  });

  it('streams JSON Lines, naming each finding by its line, skipping blank lines (CRLF too)', async () => {
    const lines = [JSON.stringify(video), '', JSON.stringify({ ...video, fps: 0 }), '{"fps": ', JSON.stringify({ tags: {} })];
    const path = file('metadata.jsonl', `${lines.join('\r\n')}\r\n`);
    const result = await validateFile(path);
    expect(result).toMatchObject({ format: 'jsonl', documents: 4, kind: 'mixed', valid: false });
    expect(result.findings.map(({ file, pointer, code }) => [file, pointer, code])).toEqual([
      [`${path}:3`, '/fps', 'invalid_fps'],
      [`${path}:4`, '', 'invalid_json'],
      ...Array.from({ length: 22 }, () => [`${path}:5`, expect.stringMatching(/^\/tags\/[0-9A-F]{8}$/), 'dicom_missing_tag']),
    ]);
    expect(result.findings[1]?.message).toBe('invalid JSON at column 9: unexpected end of input');
  });

  it('recognises JSON Lines by content whatever the name', async () => {
    const path = file('lines.txt', `${JSON.stringify(video)}\n${JSON.stringify(video)}\n`);
    expect(await validateFile(path)).toMatchObject({ format: 'jsonl', documents: 2, kind: 'video', valid: true });
  });

  it('takes a one-line .jsonl file as JSON Lines', async () => {
    const path = file('one.jsonl', `${JSON.stringify({ ...video, fps: -1 })}\n`);
    const result = await validateFile(path);
    expect(result).toMatchObject({ format: 'jsonl', documents: 1 });
    expect(result.findings[0]).toMatchObject({ file: `${path}:1`, code: 'invalid_fps' });
  });

  it('applies --as to every line', async () => {
    const path = file('as.jsonl', `{"file_size": 1}\n{"file_size": 1, "num_pages": 1}\n`);
    const result = await validateFile(path, { as: 'pdf' });
    expect(result.findings.map(({ file, code }) => [file, code])).toEqual([[`${path}:1`, 'missing_field']]);
  });

  it('reports empty input', async () => {
    const result = await validateFile(file('empty.json', '\n \n'));
    expect(result.findings).toMatchObject([{ code: 'invalid_json', message: 'empty input: expected a JSON document' }]);
  });

  it('throws SourceError for input it cannot read', async () => {
    await expect(validateFile(join(dir, 'missing.json'))).rejects.toBeInstanceOf(SourceError);
    await expect(validateFile(dir)).rejects.toThrow(/cannot read/);
  });

  it('validates a stream', async () => {
    const result = await validateStream(Readable.from([`{"images": [{"objectUrl": "s3://b/a.png"},\n`, ` {"objectUrl": "s3://b/a.png"}]}`]), 'stdin');
    expect(result.findings).toMatchObject([{ file: 'stdin', pointer: '/images/1/objectUrl', code: 'duplicate_url' }]);
  });
});

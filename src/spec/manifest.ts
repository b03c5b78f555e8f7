import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { UsageError } from '../errors.js';
import { field, isObject, readClientMetadata } from './forms.js';
import type { ClientMetadata } from './model.js';

/**
 * Manifests list the objects of a spec, one row each: `url` (the object URL written in the
 * spec), optionally `path` (where to read the bytes when `url` is the remote copy), `title`,
 * `client_metadata` (a JSON object; JSON text in CSV) and `group` (image group name). Formats:
 * CSV with a header row, a JSON array of objects, or JSONL. Rows are read one at a time, so a
 * million-row manifest never sits in memory; a row that cannot be used is still yielded, with
 * the reason, so it is counted and reported rather than lost.
 */
export interface ManifestRow {
  /** 1-based data row (CSV record after the header, JSON array element, JSONL line). */
  row: number;
  url?: string;
  path?: string;
  title?: string;
  clientMetadata?: ClientMetadata;
  group?: string;
  /** Why the row cannot be used. */
  invalid?: string;
}

export type ManifestFormat = 'csv' | 'json' | 'jsonl';

export async function* readManifest(path: string, format?: ManifestFormat): AsyncGenerator<ManifestRow> {
  const kind = format ?? (await manifestFormat(path));
  const records = kind === 'csv' ? csvObjects(path) : kind === 'json' ? jsonArrayValues(path) : jsonLines(path);
  let row = 0;
  for await (const record of records) yield toRow(++row, record);
}

/** The objects of a JSON array or JSONL file, one at a time, each parsed or with why it is not. */
export async function* readJsonRecords(path: string): AsyncGenerator<RawRecord> {
  yield* (await manifestFormat(path)) === 'json' ? jsonArrayValues(path) : jsonLines(path);
}

/** By extension, else by the first character: '[' a JSON array, '{' JSONL, anything else CSV. */
async function manifestFormat(path: string): Promise<ManifestFormat> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const first = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').trimStart()[0];
    if (first === '[') return 'json';
    if (first === '{') return 'jsonl';
    return lower.endsWith('.json') ? 'json' : 'csv';
  } finally {
    await handle.close();
  }
}

/** A parsed record, or the reason it could not be parsed. */
export type RawRecord = { value: Record<string, unknown> } | { invalid: string };

function toRow(row: number, parsed: RawRecord): ManifestRow {
  if ('invalid' in parsed) return { row, invalid: parsed.invalid };
  const record = parsed.value;
  const url = text(record.url ?? field(record, 'object_url'));
  if (!url) return { row, invalid: 'no url' };
  const result: ManifestRow = { row, url };
  const path = text(record.path);
  if (path) result.path = path;
  const title = text(record.title);
  if (title) result.title = title;
  const group = text(record.group);
  if (group) result.group = group;
  const metadata = field(record, 'client_metadata');
  if (metadata !== undefined && metadata !== '' && metadata !== null) {
    const parsed = readClientMetadata(metadata);
    const empty = Object.keys(parsed).length === 0;
    if (empty && !isEmptyObjectText(metadata)) return { ...result, invalid: 'client_metadata is not a JSON object' };
    result.clientMetadata = parsed;
  }
  return result;
}

function isEmptyObjectText(value: unknown): boolean {
  return (isObject(value) && Object.keys(value).length === 0) || (typeof value === 'string' && /^\s*\{\s*\}\s*$/.test(value));
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

async function* jsonLines(path: string): AsyncGenerator<RawRecord> {
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    const trimmed = line.replace(/^\uFEFF/, '').trim();
    if (trimmed) yield parseJson(trimmed);
  }
}

function parseJson(source: string): RawRecord {
  try {
    const value: unknown = JSON.parse(source);
    return isObject(value) ? { value } : { invalid: 'not a JSON object' };
  } catch (error) {
    return { invalid: `not JSON: ${(error as Error).message}` };
  }
}

/**
 * The elements of a top-level JSON array, one at a time: the text is split at depth-0 commas
 * (outside strings), so only one element is held at once.
 */
async function* jsonArrayValues(path: string): AsyncGenerator<RawRecord> {
  let started = false;
  let ended = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element = '';
  for await (const chunk of createReadStream(path, 'utf8') as AsyncIterable<string>) {
    let from = 0;
    for (let i = 0; i < chunk.length && !ended; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
      } else if (!started) {
        if (c === '[') {
          started = true;
          from = i + 1;
        } else if (!/[\s\uFEFF]/.test(c ?? '')) {
          throw new UsageError(`${path}: a JSON manifest is an array of objects`);
        }
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && depth > 0) depth--;
      else if (depth === 0 && (c === ',' || c === ']')) {
        element += chunk.slice(from, i);
        from = i + 1;
        ended = c === ']';
        const source = element.trim();
        element = '';
        if (source || c === ',') yield source ? parseJson(source) : { invalid: 'empty array element' };
      }
    }
    if (started && !ended) element += chunk.slice(from);
  }
  if (!ended) throw new UsageError(`${path}: JSON array not closed`);
}

/** RFC 4180 CSV (quoted fields may hold commas, quotes and newlines), header row first. */
async function* csvObjects(path: string): AsyncGenerator<RawRecord> {
  let header: string[] | undefined;
  for await (const record of csvRecords(path)) {
    if (!header) {
      header = record.map((name) => name.trim());
      if (!header.includes('url')) throw new UsageError(`${path}: the CSV header has no url column`);
      continue;
    }
    if (record.length === 1 && record[0] === '') continue;
    if (record.length !== header.length) {
      yield { invalid: `${record.length} fields where the header has ${header.length}` };
      continue;
    }
    yield { value: Object.fromEntries(header.map((name, i) => [name, record[i]])) };
  }
}

async function* csvRecords(path: string): AsyncGenerator<string[]> {
  let fields: string[] = [];
  let value = '';
  let quoted = false;
  let quoteSeen = false;
  let first = true;
  for await (let chunk of createReadStream(path, 'utf8') as AsyncIterable<string>) {
    if (first) chunk = chunk.replace(/^\uFEFF/, '');
    first = false;
    for (const c of chunk) {
      if (quoted) {
        if (c === '"') quoted = false;
        else value += c;
        continue;
      }
      if (c === '"') {
        // A quote right after a closing quote is an escaped quote inside the field.
        if (quoteSeen) value += '"';
        quoted = true;
        quoteSeen = true;
        continue;
      }
      quoteSeen = false;
      if (c === ',') {
        fields.push(value);
        value = '';
      } else if (c === '\n') {
        fields.push(value.endsWith('\r') ? value.slice(0, -1) : value);
        yield fields;
        fields = [];
        value = '';
      } else value += c;
    }
  }
  if (value !== '' || fields.length > 0) yield [...fields, value.endsWith('\r') ? value.slice(0, -1) : value];
}

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { SourceError } from '../errors.js';
import { assertKnownKind, validateInto, validationResult, type DocumentValidation, type ValidateOptions } from './document.js';
import { describeJsonProblem, parseJsonText } from './json-text.js';
import { DEFAULT_MAX_FINDINGS, FindingSink } from './sink.js';

export interface FileValidation extends DocumentValidation {
  /** The name findings carry: the path, or '-' for stdin. */
  file: string;
  format: 'json' | 'jsonl';
  /** Documents validated: 1 for JSON, the non-empty lines for JSONL. */
  documents: number;
}

/**
 * Validates a file ('-' for stdin) holding one JSON document or JSON Lines (one document per
 * line; `.jsonl`/`.ndjson`, or any file whose first line is a complete JSON value followed by
 * more lines). JSONL is streamed line by line, so memory stays bounded by the longest line;
 * JSON is parsed whole. Unreadable input throws SourceError; malformed JSON is a finding.
 * JSONL findings carry `file: 'path:LINE'`.
 */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<FileValidation> {
  const stdin = path === '-';
  const input = stdin ? process.stdin : createReadStream(path);
  try {
    return await validateLines(input, path, options, stdin ? undefined : () => readFile(path, 'utf8'));
  } catch (error) {
    if (error instanceof SourceError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new SourceError(`cannot read ${stdin ? 'stdin' : path}: ${reason}`, { cause: error });
  } finally {
    if (!stdin) input.destroy();
  }
}

/** Validates a stream the same way; `name` labels its findings. */
export function validateStream(input: Readable, name: string, options: ValidateOptions = {}): Promise<FileValidation> {
  return validateLines(input, name, options, undefined);
}

interface Progress {
  sink: FindingSink;
  kinds: Set<string | undefined>;
  documents: number;
}

function validateText(text: string, progress: Progress, as: string | undefined, oneLine: boolean): void {
  progress.documents += 1;
  const parsed = parseJsonText(text);
  if (parsed.ok) progress.kinds.add(validateInto(parsed.value, as, progress.sink));
  else progress.sink.error('', 'invalid_json', describeJsonProblem(parsed.problem, oneLine));
}

async function validateLines(
  input: Readable,
  name: string,
  options: ValidateOptions,
  readWhole: (() => Promise<string>) | undefined,
): Promise<FileValidation> {
  if (options.as !== undefined) assertKnownKind(options.as);
  const progress: Progress = { sink: new FindingSink(options.maxFindings ?? DEFAULT_MAX_FINDINGS), kinds: new Set(), documents: 0 };
  const finish = (format: 'json' | 'jsonl'): FileValidation => {
    const kinds = [...progress.kinds];
    const kind = kinds.length === 1 ? kinds[0] : kinds.length > 1 ? 'mixed' : undefined;
    progress.sink.file = undefined;
    return { ...validationResult(kind, progress.sink), file: name, format, documents: progress.documents };
  };
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const head: string[] = [];
  const nextNonEmpty = async (): Promise<string | undefined> => {
    for (let next = await lines.next(); !next.done; next = await lines.next()) {
      head.push(next.value);
      if (next.value.trim() !== '') return next.value;
    }
    return undefined;
  };
  const first = await nextNonEmpty();
  if (first === undefined) {
    progress.sink.file = name;
    progress.sink.error('', 'invalid_json', 'empty input: expected a JSON document');
    return finish('json');
  }
  const firstLine = head.length;
  const firstParsed = parseJsonText(first);
  const jsonlByName = /\.(jsonl|ndjson)$/i.test(name);
  const second = firstParsed.ok || jsonlByName ? await nextNonEmpty() : undefined;
  if (second === undefined && !jsonlByName) {
    progress.sink.file = name;
    if (firstParsed.ok) {
      progress.documents += 1;
      progress.kinds.add(validateInto(firstParsed.value, options.as, progress.sink));
    } else {
      const text = readWhole ? await readWhole() : await rest(head, lines);
      validateText(text, progress, options.as, false);
    }
    return finish('json');
  }
  const validateLine = (text: string, line: number): void => {
    progress.sink.file = `${name}:${line}`;
    validateText(text, progress, options.as, true);
  };
  validateLine(first, firstLine);
  if (second !== undefined) validateLine(second, head.length);
  let line = head.length;
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    line += 1;
    if (next.value.trim() !== '') validateLine(next.value, line);
  }
  return finish('jsonl');
}

/** The whole text of a stream whose first lines were already read. */
async function rest(head: string[], lines: AsyncIterator<string>): Promise<string> {
  const all = [...head];
  for (let next = await lines.next(); !next.done; next = await lines.next()) all.push(next.value);
  return all.join('\n');
}

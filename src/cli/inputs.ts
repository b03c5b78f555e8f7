import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Expands command-line inputs: directories recurse (sorted, hidden entries skipped), `-` reads
 * one path or URL per line from stdin, URLs and missing paths pass through (their probe reports
 * the error, so every input still gets exactly one result).
 */
export async function* expandInputs(args: string[]): AsyncGenerator<string> {
  for (const arg of args) {
    if (arg === '-') yield* linesOf(process.stdin);
    else if (URL_PATTERN.test(arg)) yield arg;
    else yield* walk(arg);
  }
}

async function* walk(path: string): AsyncGenerator<string> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) {
    yield path;
    return;
  }
  const entries = (await readdir(path, { withFileTypes: true }))
    .filter((entry) => !entry.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) yield* walk(join(path, entry.name));
}

async function* linesOf(stream: NodeJS.ReadableStream): AsyncGenerator<string> {
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    const trimmed = line.trim();
    if (trimmed) yield trimmed;
  }
}

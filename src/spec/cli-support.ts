import type { WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { UsageError } from '../errors.js';
import type { ProbeInputOptions } from '../probes/index.js';
import type { Finding } from '../validate/finding.js';
import { readSpec, type ReadSpec } from './forms.js';
import { parseBaseUrl, type BaseUrl } from './locations.js';
import type { SpecFormat } from './model.js';
import { openOutput } from './writer.js';

/** Option parsers and file helpers shared by the spec, verify and retry commands. */

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function specFormat(value: string): SpecFormat {
  if (value !== 'upload-file' && value !== 'data-items') throw new InvalidArgumentError('expected upload-file or data-items');
  return value;
}

export function oneOf<T extends string>(...choices: T[]): (value: string) => T {
  return (value) => {
    if (!(choices as string[]).includes(value)) throw new InvalidArgumentError(`expected ${choices.join(', ')}`);
    return value as T;
  };
}

/** Repeatable `--base-url URL[=DIR]`. */
export function collectBaseUrl(value: string, previous: BaseUrl[] = []): BaseUrl[] {
  try {
    return [...previous, parseBaseUrl(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Probe options from the commands' flags. Commands read local files with blocking calls (see FileSourceOptions). */
export function probeOptions(options: { timeout: number; orientation?: 'display' | 'stored' }): ProbeInputOptions {
  return { timeoutMs: options.timeout, blocking: true, ...(options.orientation ? { orientation: options.orientation } : {}) };
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${what} ${path}: ${error.message}`);
  });
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`${what} ${path} is not JSON: ${(error as Error).message}`);
  }
}

export async function readSpecFile(path: string): Promise<ReadSpec> {
  const document = await readJsonFile(path, 'spec');
  try {
    return readSpec(document);
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
}

/** A JSONL file written line by line with backpressure. */
export class JsonLines {
  count = 0;

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
  ) {}

  static async open(path: string): Promise<JsonLines> {
    return new JsonLines(path, await openOutput(path));
  }

  async write(record: unknown): Promise<void> {
    this.count++;
    if (!this.stream.write(`${JSON.stringify(record)}\n`)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.stream.end(() => resolve()).on('error', reject));
  }
}

/** For specs that carry the user's own items: an invalid one is written as given, and said so. */
export function warnInvalidItem(command: string): (errors: Finding[], item: Record<string, unknown>) => void {
  return (errors, item) => {
    const url = item.objectUrl ?? item.title ?? '';
    for (const finding of errors) process.stderr.write(`${command}: warning: item ${String(url)} is invalid as given: ${finding.code}: ${finding.message}\n`);
  };
}

/** Runs a command body: usage and file errors print one line and exit 2, anything else is a bug. */
export async function runCommand(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`encord-media: ${error.message}\n`);
    process.exitCode = 2;
  }
}

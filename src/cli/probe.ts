import { InvalidArgumentError, type Command } from 'commander';
import { toEncordMediaError } from '../errors.js';
import { probe, type ProbeInputOptions, type ProbeResult } from '../probes/index.js';
import { probeOptions } from '../spec/cli-support.js';
import { DEFAULT_CONCURRENCY, mapConcurrent } from '../util/pool.js';
import { expandInputs } from './inputs.js';

export type ProbeLine =
  | { file: string; modality: ProbeResult['modality']; metadata: ProbeResult['metadata']; warnings: ProbeResult['warnings'] }
  | { file: string; error: { code: string; message: string } };

interface ProbeCommandOptions {
  jsonl?: boolean;
  concurrency: number;
  orientation: 'display' | 'stored';
  timeout: number;
}

export function register(program: Command): void {
  program
    .command('probe')
    .description('describe media files, directories (recursively) or URLs; `-` reads a list from stdin')
    .argument('<inputs...>', 'paths, directories, http(s) URLs, or - for a list on stdin')
    .option('--jsonl', 'one JSON line per input')
    .option('-c, --concurrency <n>', 'inputs probed at once', positiveInt, DEFAULT_CONCURRENCY)
    .option('--orientation <mode>', 'display (EXIF orientation applied) or stored', orientationMode, 'display')
    .option('--timeout <ms>', 'time limit per input', positiveInt, 60_000)
    .action(async (inputs: string[], options: ProbeCommandOptions) => {
      process.exitCode = await probeCommand(inputs, options);
    });
}

/** Probes every input, printing each result as it finishes; returns the exit code. */
async function probeCommand(inputs: string[], options: ProbeCommandOptions): Promise<number> {
  const probeInputOptions = probeOptions(options);
  const progress = process.stderr.isTTY ? new Progress() : undefined;
  let failed = 0;
  for await (const line of mapConcurrent(expandInputs(inputs), options.concurrency, (file) => probeLine(file, probeInputOptions))) {
    if ('error' in line) failed++;
    await writeOut(options.jsonl ? `${JSON.stringify(line)}\n` : humanLine(line));
    progress?.update(failed);
  }
  progress?.done();
  return failed > 0 ? 1 : 0;
}

/** Writes to stdout, waiting when the reader is slower than the probes (bounded memory). */
async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

async function probeLine(file: string, options: ProbeInputOptions): Promise<ProbeLine> {
  try {
    const { modality, metadata, warnings } = await probe(file, options);
    return { file, modality, metadata, warnings };
  } catch (error) {
    return { file, error: toEncordMediaError(error, file).toJSON() };
  }
}

function humanLine(line: ProbeLine): string {
  if ('error' in line) return `${line.file}\terror ${line.error.code}: ${line.error.message}\n`;
  const fields = Object.entries(line.metadata)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : value}`)
    .join(' ');
  const warnings = line.warnings.map((w) => `\n  warning ${w.code}: ${w.message}`).join('');
  return `${line.file}\t${line.modality}\t${fields}${warnings}\n`;
}

class Progress {
  private count = 0;
  update(failed: number): void {
    this.count++;
    process.stderr.write(`\rprobed ${this.count} (${failed} failed)`);
  }
  done(): void {
    if (this.count > 0) process.stderr.write('\n');
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function orientationMode(value: string): 'display' | 'stored' {
  if (value !== 'display' && value !== 'stored') throw new InvalidArgumentError('expected display or stored');
  return value;
}

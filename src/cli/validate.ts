import { InvalidArgumentError, type Command } from 'commander';
import { EncordMediaError, UsageError } from '../errors.js';
import { DOCUMENT_KINDS } from '../validate/kinds.js';
import { validateFile, type FileValidation } from '../validate/file.js';
import type { Finding } from '../validate/finding.js';
import { DEFAULT_MAX_FINDINGS } from '../validate/sink.js';

interface ValidateCommandOptions {
  as?: string;
  json?: boolean;
  maxFindings: number;
}

/** Exit codes: 0 every input valid (warnings allowed), 1 some input invalid, 2 usage or unreadable input. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('check Encord upload files, dataItems and metadata objects (JSON or JSONL) offline')
    .argument('<files...>', 'JSON or JSONL files; - reads stdin')
    .option('--as <kind>', `validate as this kind instead of detecting it (${DOCUMENT_KINDS.slice(0, 8).join(', ')}, or a schema name)`, kindOption)
    .option('--json', 'print the result as JSON')
    .option('--max-findings <n>', 'findings shown per file (all are counted)', positiveInt, DEFAULT_MAX_FINDINGS)
    .exitOverride((error) => {
      // Commander has printed the message; bad usage exits 2, help and version 0.
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (files: string[], options: ValidateCommandOptions) => {
      process.exitCode = await validateCommand(files, options);
    });
}

function kindOption(value: string): string {
  if (!DOCUMENT_KINDS.includes(value)) throw new InvalidArgumentError(`one of ${DOCUMENT_KINDS.join(', ')}`);
  return value;
}

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new InvalidArgumentError('a positive integer');
  return number;
}

async function validateCommand(files: string[], options: ValidateCommandOptions): Promise<number> {
  if (files.filter((file) => file === '-').length > 1) {
    process.stderr.write('encord-media validate: stdin (-) can be read once\n');
    return 2;
  }
  const results: FileValidation[] = [];
  let unreadable = 0;
  for (const file of files) {
    try {
      const result = await validateFile(file, { as: options.as, maxFindings: options.maxFindings });
      results.push(result);
      if (!options.json) await write(humanFindings(result));
    } catch (error) {
      if (!(error instanceof EncordMediaError) || error instanceof UsageError) throw error;
      unreadable += 1;
      process.stderr.write(`encord-media validate: ${error.message}\n`);
    }
  }
  await write(options.json ? `${JSON.stringify({ valid: results.every((r) => r.valid) && unreadable === 0, files: results }, null, 2)}\n` : summary(results, unreadable));
  if (unreadable > 0) return 2;
  return results.every((result) => result.valid) ? 0 : 1;
}

function findingLine(finding: Finding, file: string): string {
  const where = finding.pointer === '' ? (finding.file ?? file) : `${finding.file ?? file}:${finding.pointer}`;
  const message = finding.severity === 'warning' ? `warning: ${finding.message}` : finding.message;
  return `${where}  ${finding.code}  ${message}\n`;
}

function humanFindings(result: FileValidation): string {
  const lines = result.findings.map((finding) => findingLine(finding, result.file));
  if (result.omittedCount > 0) lines.push(`${result.file}  ...  ${result.omittedCount} more findings not shown (--max-findings)\n`);
  return lines.join('');
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function summary(results: FileValidation[], unreadable: number): string {
  const errors = results.reduce((sum, result) => sum + result.errorCount, 0);
  const warnings = results.reduce((sum, result) => sum + result.warningCount, 0);
  const invalid = results.filter((result) => !result.valid).length;
  const kinds = [...new Set(results.map((result) => result.kind ?? 'unknown'))].join(', ');
  const verdict = invalid === 0 && unreadable === 0 ? 'valid' : 'invalid';
  const parts = [`${plural(results.length, 'file')} checked${kinds ? ` (${kinds})` : ''}`, `${invalid} invalid`, plural(errors, 'error'), plural(warnings, 'warning')];
  if (unreadable > 0) parts.push(`${unreadable} unreadable`);
  return `${verdict}: ${parts.join(', ')}\n`;
}

/** Writes to stdout, waiting for the reader when it is slower. */
async function write(text: string): Promise<void> {
  if (text && !process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

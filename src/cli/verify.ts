import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { collectBaseUrl, positiveInt, probeOptions, readSpecFile, runCommand, specFormat, warnInvalidItem } from '../spec/cli-support.js';
import { isObject } from '../spec/forms.js';
import { pathForUrl, type BaseUrl } from '../spec/locations.js';
import { readJsonRecords } from '../spec/manifest.js';
import type { SpecFormat } from '../spec/model.js';
import { auditStorageItems, type StorageRecord } from '../spec/storage-items.js';
import { verifySpec, type VerifyFinding, type VerifyOptions } from '../spec/verify.js';
import { SpecWriter } from '../spec/writer.js';
import { DEFAULT_CONCURRENCY } from '../util/pool.js';

interface VerifyCommandOptions {
  baseUrl?: BaseUrl[];
  fix?: boolean;
  output?: string;
  format?: SpecFormat;
  json?: boolean;
  storageItems?: boolean;
  concurrency: number;
  timeout: number;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('check an upload spec (either form) or StorageItem records against the objects they name')
    .argument('<file>', 'upload spec (JSON upload file or dataItems), or StorageItems (JSON array or JSONL)')
    .option('--base-url <url=dir>', 'read objects under URL from the local folder DIR (repeatable)', collectBaseUrl)
    .option('--fix', 'write the spec with every metadata object replaced by what the files hold (needs -o)')
    .option('-o, --output <file>', 'where --fix writes the corrected spec')
    .option('--format <form>', 'form of the --fix output (default: the input form)', specFormat)
    .option('--json', 'one JSON line per finding on stdout')
    .option('--storage-items', 'the file holds StorageItem records (default: detected)')
    .option('-c, --concurrency <n>', 'objects probed at once', positiveInt, DEFAULT_CONCURRENCY)
    .option('--timeout <ms>', 'time limit per object', positiveInt, 60_000)
    .action((file: string, options: VerifyCommandOptions) => runCommand(() => verifyCommand(file, options)));
}

async function verifyCommand(file: string, options: VerifyCommandOptions): Promise<number> {
  if (options.fix && options.output === undefined) throw new UsageError('verify: --fix needs -o FILE');
  const bases = options.baseUrl ?? [];
  const unmapped = bases.find((base) => base.dir === undefined);
  if (unmapped) throw new UsageError(`verify: --base-url ${unmapped.url} needs the local folder: --base-url ${unmapped.url}=DIR`);
  const verifyOptions: VerifyOptions = {
    probe: probeOptions(options),
    concurrency: options.concurrency,
    locate: (url) => pathForUrl(bases, url) ?? url,
  };
  const report = new Report(options.json === true);
  if (options.storageItems || (await holdsStorageItems(file))) {
    if (options.fix) throw new UsageError('verify: --fix applies to specs, not StorageItem records');
    for await (const item of auditStorageItems(storageRecords(file), verifyOptions)) await report.add(item.findings);
    return report.finish('storage items');
  }
  const spec = await readSpecFile(file);
  for (const problem of spec.problems) await report.add([{ ...problem, url: '', code: 'unreadable_item', severity: 'error' }]);
  const writer = options.fix
    ? await SpecWriter.open({ format: options.format ?? spec.format, flags: spec.flags, output: options.output as string, onInvalidItem: warnInvalidItem('verify') })
    : undefined;
  try {
    for await (const verified of verifySpec(spec.entries, { ...verifyOptions, format: spec.format })) {
      await report.add(verified.findings);
      await writer?.add(verified.fixed);
    }
  } catch (error) {
    await writer?.discard();
    throw error;
  }
  if (writer) {
    const written = await writer.finish();
    process.stderr.write(`verify: corrected spec written to ${written.files.join(', ')}\n`);
  }
  return report.finish('items');
}

/** StorageItem files are JSON arrays or JSONL of records with a url or item_type; a spec is one object of lists. */
async function holdsStorageItems(file: string): Promise<boolean> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      const line = raw.replace(/^\uFEFF/, '').trim();
      if (line === '') continue;
      if (line.startsWith('[')) return true;
      const first = parseOrUndefined(line);
      return isObject(first) && ['item_type', 'itemType', 'url', 'uuid'].some((key) => Object.hasOwn(first, key));
    }
    return false;
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  } finally {
    lines.close();
  }
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function* storageRecords(file: string): AsyncGenerator<StorageRecord> {
  let index = 0;
  for await (const record of readJsonRecords(file)) {
    const pointer = `/${index++}`;
    yield { pointer, record: 'value' in record ? record.value : record.invalid };
  }
}

class Report {
  private errors = 0;
  private warnings = 0;
  private checked = 0;
  /** Some URL had a scheme no byte source reads (s3://, gs://): a --base-url mapping would help. */
  private unreadableScheme = false;

  constructor(private readonly json: boolean) {}

  async add(findings: VerifyFinding[]): Promise<void> {
    this.checked++;
    for (const finding of findings) {
      if (finding.severity === 'error') this.errors++;
      if ((finding.file as { code?: string } | undefined)?.code === 'usage') this.unreadableScheme = true;
      else this.warnings++;
      const line = this.json ? JSON.stringify(finding) : `${finding.severity} ${finding.code} ${finding.pointer || '/'} ${finding.url}: ${finding.message}`;
      if (!process.stdout.write(`${line}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  }

  finish(what: string): number {
    const verdict = this.errors === 0 && this.warnings === 0 ? 'all agree with their files' : `${this.errors} errors, ${this.warnings} warnings`;
    process.stderr.write(`verify: ${this.checked} ${what} checked: ${verdict}\n`);
    if (this.unreadableScheme) process.stderr.write('verify: to read s3://, gs:// or other cloud URLs from a local copy, give --base-url URL=DIR\n');
    return this.errors > 0 ? 1 : 0;
  }
}

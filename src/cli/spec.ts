import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { buildSpec, SpecBuildError, type BuildEvent, type BuildSummary, type OnError, type SpecInput } from '../spec/build.js';
import { collectBaseUrl, JsonLines, oneOf, positiveInt, probeOptions, runCommand, specFormat } from '../spec/cli-support.js';
import { inputsFromArguments, inputsFromManifest, type GroupBy, type InputMapping } from '../spec/inputs.js';
import type { BaseUrl } from '../spec/locations.js';
import { readManifest, type ManifestFormat } from '../spec/manifest.js';
import type { SpecFormat } from '../spec/model.js';
import { SpecWriter, type WrittenSpec } from '../spec/writer.js';
import { DEFAULT_CONCURRENCY } from '../util/pool.js';

interface SpecCommandOptions {
  manifest?: string;
  manifestFormat?: ManifestFormat;
  output?: string;
  format: SpecFormat;
  baseUrl?: BaseUrl[];
  imageGroups?: GroupBy;
  createVideo?: boolean;
  frameOrder?: 'input' | 'name';
  skipDuplicateUrls?: boolean;
  upsertMetadata?: boolean;
  errors?: string;
  warnings?: string;
  onError: OnError;
  maxItems?: number;
  concurrency: number;
  timeout: number;
  orientation: 'display' | 'stored';
}

export function register(program: Command): void {
  program
    .command('spec')
    .description('build an Encord upload spec (JSON upload file or SDK dataItems) from media, folders, URLs or a manifest')
    .argument('[inputs...]', 'paths, directories (recursive), URLs, or - for a list on stdin')
    .option('--manifest <file>', 'CSV, JSON array or JSONL with url and optional path, title, client_metadata, group')
    .option('--manifest-format <format>', 'csv, json or jsonl (default: by extension and content)', oneOf('csv', 'json', 'jsonl'))
    .option('-o, --output <file>', 'spec file (default stdout); split specs become FILE-001.json, FILE-002.json, ...')
    .option('--format <form>', 'upload-file (documented JSON upload file) or data-items (SDK, camelCase)', specFormat, 'upload-file')
    .option('--base-url <url[=dir]>', 'object URL prefix for local paths (relative to DIR, else to each input root)', collectBaseUrl)
    .option('--image-groups <by>', 'group images into image groups by folder or by the manifest group column', oneOf('folder', 'manifest'))
    .option('--create-video', 'make image sequences (createVideo) instead of image groups')
    .option('--frame-order <order>', 'frame order in a group: name (numbers compared as numbers) or input', oneOf('name', 'input'))
    .option('--skip-duplicate-urls', 'Encord skips objects whose URL is already in the folder')
    .option('--upsert-metadata', 'Encord updates metadata of existing items with the same URL (with --skip-duplicate-urls)')
    .option('--errors <file>', 'JSONL of inputs that could not be described: {file, url, error}')
    .option('--warnings <file>', 'JSONL of probe warnings: {file, url, code, message}')
    .option('--on-error <action>', 'skip (list in --errors), fail, or include-without-metadata', oneOf('skip', 'fail', 'include-without-metadata'), 'skip')
    .option('--max-items <n>', 'items per spec file (your plan limit, e.g. 10000); Encord allows 500000', positiveInt)
    .option('-c, --concurrency <n>', 'inputs probed at once', positiveInt, DEFAULT_CONCURRENCY)
    .option('--timeout <ms>', 'time limit per input', positiveInt, 60_000)
    .option('--orientation <mode>', 'display (EXIF orientation applied) or stored', oneOf('display', 'stored'), 'display')
    .action((inputs: string[], options: SpecCommandOptions) => runCommand(() => specCommand(inputs, options)));
}

async function specCommand(args: string[], options: SpecCommandOptions): Promise<number> {
  const mapping = checkOptions(args, options);
  const reports = await Reports.open(options);
  const writer = await SpecWriter.open({
    format: options.format,
    flags: { skipDuplicateUrls: options.skipDuplicateUrls === true, upsertMetadata: options.upsertMetadata === true },
    ...(options.output !== undefined ? { output: options.output } : {}),
    ...(options.maxItems !== undefined ? { maxItems: options.maxItems } : {}),
  });
  let summary: BuildSummary | undefined;
  try {
    const events = buildSpec(specInputs(args, options, mapping), {
      probe: probeOptions(options),
      concurrency: options.concurrency,
      imageGroups: options.imageGroups !== undefined,
      createVideo: options.createVideo === true,
      frameOrder: options.frameOrder ?? (options.imageGroups === 'folder' ? 'name' : 'input'),
      onError: options.onError,
    });
    for await (const event of events) {
      if (event.type === 'entry') await writer.add(event.entry);
      else if (event.type === 'summary') summary = event.summary;
      else await reports.record(event);
    }
  } catch (error) {
    await writer.discard();
    if (!(error instanceof SpecBuildError)) throw error;
    process.stderr.write(`encord-media spec: stopped at ${error.message} (--on-error fail); no spec written\n`);
    return 1;
  } finally {
    await reports.close();
  }
  const written = await writer.finish();
  if (summary) process.stderr.write(summaryLine(summary, written, reports));
  return 0;
}

function checkOptions(args: string[], options: SpecCommandOptions): InputMapping {
  if (args.length === 0 && options.manifest === undefined) throw new UsageError('spec: give inputs or --manifest FILE');
  const [baseUrl, ...more] = options.baseUrl ?? [];
  if (more.length > 0) throw new UsageError('spec: give one --base-url');
  if (options.createVideo && options.imageGroups === undefined) throw new UsageError('spec: --create-video needs --image-groups folder|manifest');
  if (options.imageGroups === 'manifest' && options.manifest === undefined) throw new UsageError('spec: --image-groups manifest needs --manifest');
  if (options.upsertMetadata && !options.skipDuplicateUrls) {
    process.stderr.write('encord-media spec: note: --upsert-metadata has no effect without --skip-duplicate-urls\n');
  }
  if (baseUrl === undefined && args.length > 0) {
    process.stderr.write('encord-media spec: note: no --base-url, so object URLs are the local paths as given\n');
  }
  return { ...(baseUrl ? { baseUrl } : {}), ...(options.imageGroups ? { groupBy: options.imageGroups } : {}) };
}

async function* specInputs(args: string[], options: SpecCommandOptions, mapping: InputMapping): AsyncGenerator<SpecInput> {
  if (options.manifest !== undefined) yield* inputsFromManifest(readManifest(options.manifest, options.manifestFormat), options.manifest, mapping);
  if (args.length > 0) yield* inputsFromArguments(args, mapping);
}

/** Errors and warnings go to their JSONL files when given, else to stderr (warnings as counts). */
class Reports {
  readonly warningCounts = new Map<string, number>();

  private constructor(
    private readonly errors: JsonLines | undefined,
    private readonly warnings: JsonLines | undefined,
  ) {}

  static async open(options: SpecCommandOptions): Promise<Reports> {
    const open = (path: string | undefined) => (path === undefined ? undefined : JsonLines.open(path));
    return new Reports(await open(options.errors), await open(options.warnings));
  }

  async record(event: Exclude<BuildEvent, { type: 'entry' | 'summary' }>): Promise<void> {
    if (event.type === 'error') {
      const { file, url, error, included } = event;
      if (this.errors) await this.errors.write({ file, url, error, ...(included ? { included } : {}) });
      else process.stderr.write(`${included ? 'no metadata' : 'error'} ${error.code} ${file}: ${error.message}\n`);
      return;
    }
    this.warningCounts.set(event.code, (this.warningCounts.get(event.code) ?? 0) + 1);
    await this.warnings?.write({ file: event.file, url: event.url, code: event.code, message: event.message });
  }

  get errorsPath(): string | undefined {
    return this.errors?.path;
  }

  async close(): Promise<void> {
    await Promise.all([this.errors?.close(), this.warnings?.close()]);
  }
}

function summaryLine(summary: BuildSummary, written: WrittenSpec, reports: Reports): string {
  const bare = summary.withoutMetadata > 0 ? ` (${summary.withoutMetadata} without metadata)` : '';
  const errors = summary.errors > 0 && reports.errorsPath ? ` (listed in ${reports.errorsPath})` : '';
  const files = written.files.length === 1 ? written.files[0] : `${written.files.length} files: ${written.files.join(', ')}`;
  const warnings = [...reports.warningCounts].map(([code, count]) => `${code} ${count}`).join(', ');
  return (
    `spec: ${summary.inputs} inputs = ${summary.inSpec} in spec${bare} + ${summary.errors} errors${errors}; ` +
    `${written.items} items, ${written.urls} URLs -> ${files}\n` +
    (warnings ? `warnings: ${warnings}\n` : '')
  );
}

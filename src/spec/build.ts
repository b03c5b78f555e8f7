import { availableParallelism } from 'node:os';
import { detect } from '../detect.js';
import { EncordMediaError, toEncordMediaError } from '../errors.js';
import { probe, type ProbeInputOptions, type ProbeResult } from '../probes/index.js';
import type { Modality } from '../probes/types.js';
import type { CustomerProvidedDicomSeriesDicomFileMetadata, CustomerProvidedImageMetadata } from '../schema/metadata.js';
import { openSource, type MediaInput } from '../sources/open.js';
import { compareSlices, firstString, SERIES_INSTANCE_UID } from './dicom.js';
import type { ClientMetadata, Frame, SingleKind, SpecEntry } from './model.js';
import { mapOrdered } from './ordered.js';
import { checkSeries, type SeriesFile } from './series.js';
import { UniqueTitles, fileNameOf } from './titles.js';
import { metadataErrors } from './validation.js';

/** One object to put in the spec. */
export interface SpecInput {
  /** The input as the user named it (path, URL, manifest row), used in errors. */
  file: string;
  /** Where to read the bytes: a path, URL, or anything `probe` accepts. */
  source: MediaInput;
  /** The object URL written in the spec. */
  url: string;
  title?: string;
  clientMetadata?: ClientMetadata;
  /** Image group the input belongs to (folder or manifest group column), when grouping. */
  group?: string;
  /** Why the input cannot be used, known before reading it (a bad manifest row). */
  invalid?: string;
}

export type OnError = 'skip' | 'fail' | 'include-without-metadata';

export interface BuildOptions {
  probe?: ProbeInputOptions;
  /** Inputs probed at once. */
  concurrency?: number;
  /** Images whose input has a `group` become image groups. */
  imageGroups?: boolean;
  /** Image groups become image sequences (createVideo). */
  createVideo?: boolean;
  /** Frame order in an image group: as given, or by name with digit runs compared as numbers. */
  frameOrder?: 'input' | 'name';
  /** What an input that cannot be described becomes; default skip (listed as an error). */
  onError?: OnError;
}

export interface InputError {
  file: string;
  url: string;
  error: { code: string; message: string };
  /** True when the input is in the spec anyway, without metadata (--on-error include-without-metadata). */
  included: boolean;
}

export interface BuildSummary {
  /** Inputs read. Always inSpec + errors. */
  inputs: number;
  /** Inputs whose object is in the spec (a series of 10 files counts 10). */
  inSpec: number;
  /** Of those, in the spec without metadata. */
  withoutMetadata: number;
  /** Inputs left out of the spec. */
  errors: number;
  /** Spec items (a series or image group is one). */
  entries: number;
}

export type BuildEvent =
  | { type: 'entry'; entry: SpecEntry }
  | ({ type: 'error' } & InputError)
  | { type: 'warning'; file: string; url: string; code: string; message: string }
  | { type: 'summary'; summary: BuildSummary };

/** The run stopped at the first input it could not describe (--on-error fail). */
export class SpecBuildError extends EncordMediaError {
  constructor(readonly input: InputError) {
    super(input.error.code, `${input.file}: ${input.error.message}`);
  }
}

/**
 * Probes every input and yields spec entries as they are ready: plain items in input order as
 * soon as they are probed; image groups and DICOM series (which must be gathered) at the end;
 * inputs that cannot be used as error events. Ends with a summary whose counts always add up:
 * every input is in the spec or reported, never dropped.
 */
export async function* buildSpec(inputs: AsyncIterable<SpecInput> | Iterable<SpecInput>, options: BuildOptions = {}): AsyncGenerator<BuildEvent> {
  const builder = new SpecBuilder(options);
  const concurrency = options.concurrency ?? availableParallelism();
  for await (const described of mapOrdered(inputs, concurrency, (input) => describe(input, options))) {
    yield* builder.accept(described);
  }
  yield* builder.finish();
}

interface Described {
  input: SpecInput;
  result?: ProbeResult;
  error?: { code: string; message: string };
  /** Detected modality of an input that failed to probe (only when it may be included anyway). */
  modality?: Modality;
}

async function describe(input: SpecInput, options: BuildOptions): Promise<Described> {
  if (input.invalid !== undefined) return { input, error: { code: 'invalid_input', message: input.invalid } };
  try {
    return { input, result: await probe(input.source, options.probe) };
  } catch (error) {
    const described: Described = { input, error: toEncordMediaError(error, input.file).toJSON() };
    if (options.onError === 'include-without-metadata') described.modality = await detectModality(input.source, options.probe);
    return described;
  }
}

async function detectModality(input: MediaInput, options: ProbeInputOptions = {}): Promise<Modality | undefined> {
  const source = openSource(input, options);
  try {
    return (await detect(source)).modality;
  } catch {
    return undefined;
  } finally {
    await source.close().catch(() => {});
  }
}

type DicomMetadata = CustomerProvidedDicomSeriesDicomFileMetadata;

function seriesUidOf(metadata: DicomMetadata): string | undefined {
  return firstString(metadata.tags, SERIES_INSTANCE_UID);
}

/** A gathered frame, with the input it came from and its type (image sequences take only some). */
type ImageFrame = Frame<CustomerProvidedImageMetadata> & { file: string; mime?: string };

interface PendingGroup {
  name: string;
  clientMetadata?: ClientMetadata;
  frames: ImageFrame[];
}

interface PendingSeries {
  uid: string;
  clientMetadata?: ClientMetadata;
  files: (SeriesFile & { file: string })[];
}

/** Image sequences are encoded to video from these formats only (no TIFF). */
const SEQUENCE_MIME_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/bmp']);

class SpecBuilder {
  private readonly titles = new UniqueTitles();
  private readonly urls = new Set<string>();
  private readonly groups = new Map<string, PendingGroup>();
  private readonly series = new Map<string, PendingSeries>();
  private readonly counts = { inputs: 0, inSpec: 0, withoutMetadata: 0, errors: 0, entries: 0 };

  constructor(private readonly options: BuildOptions) {}

  *accept(described: Described): Generator<BuildEvent> {
    this.counts.inputs++;
    const { input, result } = described;
    if (this.urls.has(input.url)) {
      yield* this.reject(input, { code: 'duplicate_url', message: `${input.url} is already in the spec` });
      return;
    }
    if (!result) {
      yield* this.failed(described);
      return;
    }
    const invalid = metadataErrors(result.modality, result.metadata)[0];
    if (invalid) {
      const message = `probed metadata does not validate: ${invalid.pointer || '/'} ${invalid.message}`;
      yield* this.failed({ input, error: { code: invalid.code, message }, modality: result.modality });
      return;
    }
    const seriesUid = result.modality === 'dicom' ? seriesUidOf(result.metadata as DicomMetadata) : undefined;
    if (result.modality === 'dicom' && seriesUid === undefined) {
      yield* this.reject(input, { code: 'no_series_uid', message: 'DICOM file without SeriesInstanceUID: it cannot be placed in a series' });
      return;
    }
    this.urls.add(input.url);
    for (const warning of result.warnings) yield { type: 'warning', file: input.file, url: input.url, ...warning };
    if (result.modality === 'dicom') this.gatherSeries(seriesUid as string, input, result.metadata as DicomMetadata);
    else if (result.modality === 'image' && this.groupsImage(input)) this.gatherFrame(input, result.metadata as CustomerProvidedImageMetadata);
    else yield this.single(input, result.modality, result.modality === 'nifti' ? undefined : result.metadata);
  }

  *finish(): Generator<BuildEvent> {
    for (const group of this.groups.values()) yield* this.groupEntry(group);
    for (const series of this.series.values()) yield* this.seriesEntry(series);
    const summary: BuildSummary = { ...this.counts };
    if (summary.inputs !== summary.inSpec + summary.errors) {
      throw new Error(`spec builder lost inputs: ${summary.inputs} read, ${summary.inSpec} in the spec, ${summary.errors} errors`);
    }
    yield { type: 'summary', summary };
  }

  private groupsImage(input: SpecInput): boolean {
    return this.options.imageGroups === true && input.group !== undefined;
  }

  private single(input: SpecInput, kind: SingleKind, metadata: unknown): BuildEvent {
    this.counts.inSpec++;
    this.counts.entries++;
    const title = this.titles.claim(input.title ?? fileNameOf(input.url));
    const entry = { kind, url: input.url, title, clientMetadata: input.clientMetadata ?? {}, ...(metadata ? { metadata } : {}) } as SpecEntry;
    return { type: 'entry', entry };
  }

  /** An input that could not be described: stop, include it bare, or report it. */
  private *failed({ input, error, modality }: Described): Generator<BuildEvent> {
    const reason = error ?? { code: 'unknown', message: 'not described' };
    const includable = modality !== undefined && modality !== 'dicom' && input.invalid === undefined;
    if (this.options.onError !== 'include-without-metadata' || !includable) {
      yield* this.reject(input, reason);
      return;
    }
    this.urls.add(input.url);
    this.counts.withoutMetadata++;
    yield { type: 'error', file: input.file, url: input.url, error: reason, included: true };
    if (modality === 'image' && this.groupsImage(input)) this.gatherFrame(input, undefined);
    else yield this.single(input, modality as SingleKind, undefined);
  }

  private *reject(input: { file: string; url: string }, error: InputError['error']): Generator<BuildEvent> {
    const report: InputError = { file: input.file, url: input.url, error, included: false };
    if (this.options.onError === 'fail') throw new SpecBuildError(report);
    this.counts.errors++;
    yield { type: 'error', ...report };
  }

  private gatherFrame(input: SpecInput, metadata: CustomerProvidedImageMetadata | undefined): void {
    const name = input.group as string;
    const group = this.groups.get(name) ?? { name, frames: [] };
    this.groups.set(name, group);
    group.clientMetadata ??= input.clientMetadata;
    const frame: ImageFrame = { url: input.url, title: input.title ?? fileNameOf(input.url), file: input.file };
    group.frames.push(metadata ? { ...frame, metadata, mime: metadata.mime_type } : frame);
  }

  private gatherSeries(uid: string, input: SpecInput, metadata: DicomMetadata): void {
    const series = this.series.get(uid) ?? { uid, files: [] };
    this.series.set(uid, series);
    series.clientMetadata ??= input.clientMetadata;
    series.files.push({ url: input.url, title: input.title ?? fileNameOf(input.url), tags: metadata.tags, file: input.file });
  }

  private *groupEntry(group: PendingGroup): Generator<BuildEvent> {
    const createVideo = this.options.createVideo === true;
    const frames: ImageFrame[] = [];
    for (const frame of group.frames) {
      if (createVideo && frame.mime !== undefined && !SEQUENCE_MIME_TYPES.has(frame.mime)) {
        const message = `${frame.mime} cannot be a frame of an image sequence (jpeg, png, webp, avif, bmp only)`;
        yield* this.reject(frame, { code: 'unsupported_in_image_sequence', message });
      } else frames.push(frame);
    }
    if (frames.length === 0) return;
    if (this.options.frameOrder === 'name') frames.sort((a, b) => NAME_ORDER.compare(a.url, b.url));
    this.counts.inSpec += frames.length;
    this.counts.entries++;
    const entry: SpecEntry = {
      kind: 'image_group',
      title: this.titles.claim(group.name),
      clientMetadata: group.clientMetadata ?? {},
      createVideo,
      frames: frames.map(({ url, title, metadata }) => (metadata ? { url, title, metadata } : { url, title })),
    };
    yield { type: 'entry', entry };
  }

  private *seriesEntry(series: PendingSeries): Generator<BuildEvent> {
    const files = [...series.files].sort(compareSlices);
    const findings = checkSeries(files);
    const errors = findings.filter((finding) => finding.severity === 'error');
    if (errors.length > 0) {
      // The server rejects a series as a whole, so every file of it is reported.
      const message = `series ${series.uid}: ${errors.map((finding) => finding.message).join('; ')}`;
      for (const file of files) yield* this.reject(file, { code: errors[0]?.code ?? 'invalid_dicom_series', message });
      return;
    }
    for (const finding of findings) yield { type: 'warning', file: finding.file ?? series.uid, url: files[0]?.url ?? '', code: finding.code, message: finding.message };
    this.counts.inSpec += files.length;
    this.counts.entries++;
    const entry: SpecEntry = {
      kind: 'dicom_series',
      title: this.titles.claim(series.uid),
      clientMetadata: series.clientMetadata ?? {},
      frames: files.map(({ url, title, tags }) => ({ url, title, metadata: { tags } })),
    };
    yield { type: 'entry', entry };
  }
}

const NAME_ORDER = new Intl.Collator('en', { numeric: true });

import { availableParallelism } from 'node:os';
import { toEncordMediaError } from '../errors.js';
import { probe, type ProbeInputOptions, type ProbeResult } from '../probes/index.js';
import { snakeToCamel } from '../schema/casing.js';
import type { CustomerProvidedDicomSeriesDicomFileMetadata } from '../schema/metadata.js';
import type { MediaInput } from '../sources/open.js';
import { pointerJoin } from '../validate/finding.js';
import { compareDicomTags, compareMetadata, type Difference } from './compare.js';
import type { LocatedEntry } from './forms.js';
import { isSingle, type DicomSeriesEntry, type Frame, type SingleKind, type SpecEntry, type SpecFormat } from './model.js';
import { Limiter } from '../util/pool.js';
import { mapOrdered } from './ordered.js';
import { checkSeries } from './series.js';

export interface VerifyOptions {
  probe?: ProbeInputOptions;
  /** Objects probed at once. */
  concurrency?: number;
  /** The form the spec was read from, so pointers use its spelling. Default upload-file. */
  format?: SpecFormat;
  /** Where to read an object URL's bytes (a local copy via --base-url); default the URL itself. */
  locate?: (url: string) => MediaInput;
}

export interface VerifyFinding {
  /** JSON Pointer into the spec. */
  pointer: string;
  url: string;
  code: string;
  severity: 'error' | 'warning';
  message: string;
  field?: string;
  spec?: unknown;
  file?: unknown;
}

export interface VerifiedEntry {
  pointer: string;
  entry: SpecEntry;
  /** The entry with every metadata object replaced by what the files hold (for --fix). */
  fixed: SpecEntry;
  findings: VerifyFinding[];
}

/**
 * Probes every object a spec references and reports each way the spec disagrees with it:
 * metadata fields that differ or are missing, items without metadata, DICOM tags missing or
 * different, objects in the wrong list, objects that cannot be read. Entries stream in and
 * results stream out in the same order.
 */
export async function* verifySpec(entries: AsyncIterable<LocatedEntry> | Iterable<LocatedEntry>, options: VerifyOptions = {}): AsyncGenerator<VerifiedEntry> {
  const concurrency = options.concurrency ?? availableParallelism();
  const limiter = new Limiter(concurrency);
  const probeUrl = (url: string) => limiter.run(() => probeObject(url, options));
  yield* mapOrdered(entries, concurrency * 2, (located) => verifyEntry(located, options.format ?? 'upload-file', probeUrl));
}

type Probed = { result: ProbeResult } | { error: { code: string; message: string } };

async function probeObject(url: string, options: VerifyOptions): Promise<Probed> {
  try {
    return { result: await probe(options.locate?.(url) ?? url, options.probe) };
  } catch (error) {
    return { error: toEncordMediaError(error, url).toJSON() };
  }
}

async function verifyEntry({ entry, pointer }: LocatedEntry, format: SpecFormat, probeUrl: (url: string) => Promise<Probed>): Promise<VerifiedEntry> {
  if (isSingle(entry)) {
    const { findings, fixed } = checkSingle(entry, pointer, format, await probeUrl(entry.url));
    return { pointer, entry, fixed, findings };
  }
  const probed = await Promise.all(entry.frames.map((frame) => probeUrl(frame.url)));
  const findings: VerifyFinding[] = [];
  const frames = entry.frames.map((frame, n) => {
    const checked = checkFrame(entry.kind, frame, framePointers(pointer, entry.kind, n, format), format, probed[n] as Probed);
    findings.push(...checked.findings);
    return checked.fixed;
  });
  const fixed = { ...entry, frames } as SpecEntry;
  if (fixed.kind === 'dicom_series') findings.push(...seriesFindings(fixed, pointer));
  return { pointer, entry, fixed, findings };
}

/** What Encord's server checks on a series, run on the files' own tags: a failure here fails the upload whatever the spec says. */
function seriesFindings(series: DicomSeriesEntry, pointer: string): VerifyFinding[] {
  const files = series.frames.flatMap((frame) => (frame.metadata ? [{ url: frame.url, tags: frame.metadata.tags }] : []));
  return checkSeries(files).map(({ code, severity, message, file }) => ({ pointer, url: file ?? '', code, severity, message }));
}

const FRAME_MODALITY = { image_group: 'image', dicom_series: 'dicom' } as const;

function checkFrame(
  kind: 'image_group' | 'dicom_series',
  frame: Frame<unknown>,
  pointers: { url: string; metadata: string },
  format: SpecFormat,
  probed: Probed,
): { findings: VerifyFinding[]; fixed: Frame<unknown> } {
  const at = (difference: Omit<VerifyFinding, 'url'>) => ({ url: frame.url, ...difference });
  if ('error' in probed) return { findings: [at(unreadable(pointers.url, probed.error))], fixed: frame };
  const { result } = probed;
  if (result.modality !== FRAME_MODALITY[kind]) {
    return { findings: [at(wrongModality(pointers.url, kind, result))], fixed: frame };
  }
  const fixed = { ...frame, metadata: result.metadata };
  const metadataPointer = pointers.metadata;
  if (!frame.metadata) return { findings: [at(missingMetadata(metadataPointer))], fixed };
  const differences =
    kind === 'dicom_series'
      ? compareDicomTags(tagsOf(frame.metadata), (result.metadata as CustomerProvidedDicomSeriesDicomFileMetadata).tags, pointerJoin(metadataPointer, 'tags'))
      : compareMetadata(frame.metadata as Record<string, unknown>, result.metadata as never, metadataPointer, spelling(format));
  return { findings: differences.map((difference) => at(asFinding(difference))), fixed };
}

function checkSingle(entry: Extract<SpecEntry, { url: string }>, pointer: string, format: SpecFormat, probed: Probed): { findings: VerifyFinding[]; fixed: SpecEntry } {
  const at = (difference: Omit<VerifyFinding, 'url'>) => ({ url: entry.url, ...difference });
  if ('error' in probed) return { findings: [at(unreadable(pointer, probed.error))], fixed: entry };
  const { result } = probed;
  if (result.modality === 'dicom') return { findings: [at(wrongModality(pointer, entry.kind, result))], fixed: entry };
  const kind: SingleKind = result.modality;
  const fixed = { ...entry, kind, ...(kind === 'nifti' ? { metadata: undefined } : { metadata: result.metadata }) } as SpecEntry;
  if (kind !== entry.kind) return { findings: [at(wrongModality(pointer, entry.kind, result))], fixed };
  if (kind === 'nifti') return { findings: [], fixed };
  const metadataPointer = pointerJoin(pointer, `${kind}Metadata`);
  if (!entry.metadata) return { findings: [at(missingMetadata(metadataPointer))], fixed };
  const differences = compareMetadata(entry.metadata as Record<string, unknown>, result.metadata as never, metadataPointer, spelling(format));
  return { findings: differences.map((difference) => at(asFinding(difference))), fixed };
}

function asFinding(difference: Difference): Omit<VerifyFinding, 'url'> {
  return { severity: 'error', ...difference };
}

function unreadable(pointer: string, error: { code: string; message: string }): Omit<VerifyFinding, 'url'> {
  return { pointer, code: 'unreadable', severity: 'error', message: `cannot be described (${error.code}): ${error.message}`, file: error };
}

function wrongModality(pointer: string, listed: string, result: ProbeResult): Omit<VerifyFinding, 'url'> {
  const mime = 'mime_type' in result.metadata ? ` (${String(result.metadata.mime_type)})` : '';
  return { pointer, code: 'wrong_list', severity: 'error', message: `listed as ${listed.replace('_', ' ')}, but the file is ${result.modality}${mime}`, file: result.modality };
}

function missingMetadata(pointer: string): Omit<VerifyFinding, 'url'> {
  return { pointer, code: 'missing_metadata', severity: 'warning', message: 'no metadata: Encord will scan the file (and strict client-only access needs it)' };
}

function tagsOf(metadata: unknown): Record<string, unknown> {
  const tags = (metadata as { tags?: unknown } | undefined)?.tags;
  return typeof tags === 'object' && tags !== null && !Array.isArray(tags) ? (tags as Record<string, unknown>) : {};
}

/** Field names inside *Metadata: snake_case in the upload file, camelCase in dataItems. */
function spelling(format: SpecFormat): (field: string) => string {
  return format === 'data-items' ? snakeToCamel : (field) => field;
}

/** Frame n's URL and metadata: `objectUrl_n` and `imageMetadata_n`/`dicomMetadata_n` in the upload file, list element n in dataItems. */
function framePointers(pointer: string, kind: 'image_group' | 'dicom_series', n: number, format: SpecFormat): { url: string; metadata: string } {
  if (format === 'upload-file') {
    const metadata = pointerJoin(pointer, `${kind === 'image_group' ? 'imageMetadata' : 'dicomMetadata'}_${n}`);
    return { url: pointerJoin(pointer, `objectUrl_${n}`), metadata };
  }
  const element = pointerJoin(pointerJoin(pointer, kind === 'image_group' ? 'images' : 'dicomFiles'), n);
  return { url: pointerJoin(element, 'url'), metadata: pointerJoin(element, kind === 'image_group' ? 'imageMetadata' : 'dicomMetadata') };
}

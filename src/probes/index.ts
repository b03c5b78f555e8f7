import { detect, DETECTION_PREFIX_BYTES } from '../detect.js';
import { LimitError, ProbeError, toEncordMediaError } from '../errors.js';
import { openSource, type MediaInput, type OpenOptions } from '../sources/open.js';
import type { ByteSource } from '../sources/source.js';
import type { Detection, MetadataByModality, Modality, Probe, ProbeOptions, ProbeWarning } from './types.js';

export type ProbeInputOptions = ProbeOptions & OpenOptions;

export interface ProbeResult<K extends Modality = Modality> {
  modality: K;
  metadata: MetadataByModality[K];
  warnings: ProbeWarning[];
  details?: Record<string, unknown>;
  /** Bytes fetched from the input to describe it. */
  bytesRead: number;
}

const PROBE_EXPORTS: { [K in Modality]: string } = {
  image: 'probeImage',
  video: 'probeVideo',
  audio: 'probeAudio',
  text: 'probeText',
  pdf: 'probePdf',
  dicom: 'probeDicom',
  nifti: 'probeNifti',
};

/** Probe modules load on first use, so a run over PDFs never loads sharp or ffprobe code. */
async function loadProbe<K extends Modality>(modality: K): Promise<Probe<K>> {
  const module = (await import(`./${modality}.js`)) as Record<string, Probe<K>>;
  const probe = module[PROBE_EXPORTS[modality]];
  if (!probe) throw new ProbeError('unsupported_format', `no ${modality} probe`);
  return probe;
}

/** A container that held no stream of the kind its signature suggested: try the other kind. */
const SECOND_CHANCE: Partial<Record<string, Modality>> = {
  no_video_stream: 'audio',
};

const DEFAULT_TIMEOUT_MS = 60_000;

/** Detects what the input is and describes it with that modality's probe. */
export async function probe(input: MediaInput, options: ProbeInputOptions = {}): Promise<ProbeResult> {
  return withSource(input, options, async (source, limited) => {
    const detection = await detect(source, { prefix: await source.read(0, DETECTION_PREFIX_BYTES) });
    return runProbe(source, detection, limited);
  });
}

/** Describes the input as the given modality, whatever the detector would say. */
export async function probeAs<K extends Modality>(modality: K, input: MediaInput, options: ProbeInputOptions = {}): Promise<ProbeResult<K>> {
  return withSource(input, options, async (source, limited) => {
    const detection = await detect(source).catch((error: unknown) => {
      if (error instanceof ProbeError && error.code === 'empty_file') throw error;
      return { modality, mime: '', format: 'unknown', warnings: [] } satisfies Detection;
    });
    return runProbe(source, { ...detection, modality }, limited) as Promise<ProbeResult<K>>;
  });
}

export const probeImage = (input: MediaInput, options?: ProbeInputOptions) => probeAs('image', input, options);
export const probeVideo = (input: MediaInput, options?: ProbeInputOptions) => probeAs('video', input, options);
export const probeAudio = (input: MediaInput, options?: ProbeInputOptions) => probeAs('audio', input, options);
export const probeText = (input: MediaInput, options?: ProbeInputOptions) => probeAs('text', input, options);
export const probePdf = (input: MediaInput, options?: ProbeInputOptions) => probeAs('pdf', input, options);
export const probeDicom = (input: MediaInput, options?: ProbeInputOptions) => probeAs('dicom', input, options);
export const probeNifti = (input: MediaInput, options?: ProbeInputOptions) => probeAs('nifti', input, options);

async function runProbe(source: ByteSource, detection: Detection, options: ProbeOptions): Promise<ProbeResult> {
  try {
    return await runOne(source, detection, options);
  } catch (error) {
    const next = error instanceof ProbeError ? SECOND_CHANCE[error.code] : undefined;
    if (!next || next === detection.modality) throw error;
    return runOne(source, { ...detection, modality: next }, options);
  }
}

async function runOne(source: ByteSource, detection: Detection, options: ProbeOptions): Promise<ProbeResult> {
  const probe = await loadProbe(detection.modality);
  const outcome = await probe(source, { options, detection });
  return {
    modality: detection.modality,
    metadata: outcome.metadata,
    warnings: [...detection.warnings, ...outcome.warnings],
    ...(outcome.details ? { details: outcome.details } : {}),
    bytesRead: source.bytesRead,
  } as ProbeResult;
}

/**
 * Opens the input, enforces the time limit, always closes, and types every failure. The work gets
 * the options with a signal that aborts at the time limit, so a child process it started (ffprobe)
 * is killed with it rather than left running.
 */
async function withSource<T>(input: MediaInput, options: ProbeInputOptions, work: (source: ByteSource, options: ProbeInputOptions) => Promise<T>): Promise<T> {
  const source = openSource(input, { ...options, maxBytesRead: options.maxBytesRead });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const expiry = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, expiry.signal]) : expiry.signal;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new LimitError('timeout', `probing ${source.name} took over ${timeoutMs} ms`));
      expiry.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([work(source, { ...options, signal }), timeout]);
  } catch (error) {
    throw toEncordMediaError(error, source.name);
  } finally {
    clearTimeout(timer);
    await source.close().catch(() => {});
  }
}

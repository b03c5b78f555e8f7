import type {
  CustomerProvidedAudioMetadata,
  CustomerProvidedDicomSeriesDicomFileMetadata,
  CustomerProvidedImageMetadata,
  CustomerProvidedPdfMetadata,
  CustomerProvidedTextMetadata,
  CustomerProvidedVideoMetadata,
} from '../schema/metadata.js';

/**
 * One upload spec, whichever form it is written in (the documented JSON upload file or the
 * SDK's dataItems). Builders, verifiers and retry planning work on these entries; `forms.ts`
 * turns them into either form and back. Metadata is kept with snake_case fields, as probes
 * return it.
 */

export interface MetadataByKind {
  video: CustomerProvidedVideoMetadata;
  image: CustomerProvidedImageMetadata;
  audio: CustomerProvidedAudioMetadata;
  text: CustomerProvidedTextMetadata;
  pdf: CustomerProvidedPdfMetadata;
  nifti: never;
}

export type SingleKind = keyof MetadataByKind;
export type EntryKind = SingleKind | 'image_group' | 'dicom_series';
export type ClientMetadata = Record<string, unknown>;

export interface SingleEntry<K extends SingleKind = SingleKind> {
  kind: K;
  url: string;
  title?: string;
  clientMetadata: ClientMetadata;
  metadata?: MetadataByKind[K];
}

/** One frame of an image group or one file of a DICOM series. */
export interface Frame<M> {
  url: string;
  title?: string;
  metadata?: M;
}

export interface ImageGroupEntry {
  kind: 'image_group';
  title?: string;
  clientMetadata: ClientMetadata;
  /** True: an image sequence (backed by a video); false: an image group. */
  createVideo: boolean;
  frames: Frame<CustomerProvidedImageMetadata>[];
}

export interface DicomSeriesEntry {
  kind: 'dicom_series';
  title?: string;
  clientMetadata: ClientMetadata;
  frames: Frame<CustomerProvidedDicomSeriesDicomFileMetadata>[];
}

export type SpecEntry = { [K in SingleKind]: SingleEntry<K> }[SingleKind] | ImageGroupEntry | DicomSeriesEntry;

export interface SpecFlags {
  skipDuplicateUrls: boolean;
  upsertMetadata: boolean;
}

export type SpecFormat = 'upload-file' | 'data-items';

/** Every kind, in the order its list is written in a spec. */
export const ENTRY_KINDS: readonly EntryKind[] = ['video', 'image', 'image_group', 'dicom_series', 'audio', 'text', 'pdf', 'nifti'];

export function isSingle(entry: SpecEntry): entry is Extract<SpecEntry, { url: string }> {
  return entry.kind !== 'image_group' && entry.kind !== 'dicom_series';
}

/** The object URLs an entry references: one for a single item, every frame for a group. */
export function entryUrls(entry: SpecEntry): string[] {
  return isSingle(entry) ? [entry.url] : entry.frames.map((frame) => frame.url);
}

/** Encord's per-file limits for the JSON upload file (register-cloud-data page). */
export const ENCORD_MAX_ITEMS_PER_FILE = 500_000;
export const ENCORD_MAX_URLS_PER_FILE = 1_000_000;

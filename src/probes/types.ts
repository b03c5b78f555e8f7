import type {
  CustomerProvidedAudioMetadata,
  CustomerProvidedDicomSeriesDicomFileMetadata,
  CustomerProvidedImageMetadata,
  CustomerProvidedPdfMetadata,
  CustomerProvidedTextMetadata,
  CustomerProvidedVideoMetadata,
} from '../schema/metadata.js';
import type { ByteSource } from '../sources/source.js';

export type Modality = 'image' | 'video' | 'audio' | 'text' | 'pdf' | 'dicom' | 'nifti';

/** NIfTI volumes carry no Encord metadata; the probe still checks the header and sizes the file. */
export interface NiftiMetadata {
  file_size: number;
  mime_type: string;
}

export interface MetadataByModality {
  image: CustomerProvidedImageMetadata;
  video: CustomerProvidedVideoMetadata;
  audio: CustomerProvidedAudioMetadata;
  text: CustomerProvidedTextMetadata;
  pdf: CustomerProvidedPdfMetadata;
  dicom: CustomerProvidedDicomSeriesDicomFileMetadata;
  nifti: NiftiMetadata;
}

/** Something true of the file that a user should know, beside correct metadata. */
export interface ProbeWarning {
  code: string;
  message: string;
}

export interface ProbeOptions {
  /** 'display' (default) swaps width/height for EXIF orientation 5-8; 'stored' keeps the stored size. */
  orientation?: 'display' | 'stored';
  /** Time limit for one input, including any child process. */
  timeoutMs?: number;
  /** Most bytes a probe may read from one input. */
  maxBytesRead?: number;
  /** ffprobe binary to use instead of the resolved one. */
  ffprobePath?: string;
  signal?: AbortSignal;
}

export interface ProbeOutcome<M> {
  metadata: M;
  warnings: ProbeWarning[];
  /** Extra facts for callers that want them (e.g. the DICOM series UIDs, ffprobe version). */
  details?: Record<string, unknown>;
}

/** Every modality probe has this one signature; the detection that chose it is passed along. */
export type Probe<K extends Modality> = (
  source: ByteSource,
  context: ProbeContext,
) => Promise<ProbeOutcome<MetadataByModality[K]>>;

export interface ProbeContext {
  options: ProbeOptions;
  detection: Detection;
}

/** What the bytes are, from magic numbers (and, for text only, the extension). */
export interface Detection {
  modality: Modality;
  /** MIME type by content, per SPEC.md. */
  mime: string;
  /** Short container/format name: 'jpeg', 'png', 'mp4', 'matroska', 'wav', 'pdf', 'dicom', 'text', ... */
  format: string;
  /** The file-type extension guess, when file-type recognised the bytes. */
  fileTypeExt?: string;
  warnings: ProbeWarning[];
}

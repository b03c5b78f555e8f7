import { z } from 'zod';
import { REQUIRED_DICOM_TAG_KEYS } from './dicom.js';
import { dto } from './dto.js';
import { FileSize, MimeType, Pixels, Seconds } from './fields.js';
import { named } from './named.js';

/**
 * Encord's CustomerProvided*Metadata (encord/orm/storage.py). Field names are snake_case as in
 * the JSON upload file; input may also use the camelCase wire aliases. Besides the SDK's types the
 * schemas hold the value limits a JSON Schema can state (positive sizes, fps > 0, ...); rules
 * across fields or documents live in src/validate/.
 */
export const CustomerProvidedImageMetadata = named(
  'CustomerProvidedImageMetadata',
  'Image metadata Encord uses instead of scanning the file',
  dto({ mime_type: MimeType, file_size: FileSize, height: Pixels, width: Pixels }),
);
export type CustomerProvidedImageMetadata = z.infer<typeof CustomerProvidedImageMetadata>;

export const CustomerProvidedVideoMetadata = named(
  'CustomerProvidedVideoMetadata',
  'Video metadata Encord uses to render the video, skipping its frame synchronisation checks',
  dto({
    fps: z.number().positive().describe('Frames per second (float)'),
    duration: Seconds,
    width: Pixels,
    height: Pixels,
    file_size: FileSize,
    mime_type: MimeType,
  }),
);
export type CustomerProvidedVideoMetadata = z.infer<typeof CustomerProvidedVideoMetadata>;

export const CustomerProvidedAudioMetadata = named(
  'CustomerProvidedAudioMetadata',
  'Audio metadata Encord uses instead of scanning the file',
  dto({
    duration: Seconds,
    file_size: FileSize,
    mime_type: MimeType,
    sample_rate: z.int().positive().describe('Samples per second (Hz)'),
    bit_depth: z.int().positive().describe('Size of each sample in bits'),
    codec: z.string().min(1).describe('Codec name, e.g. mp3, pcm, flac'),
    num_channels: z.int().positive(),
  }),
);
export type CustomerProvidedAudioMetadata = z.infer<typeof CustomerProvidedAudioMetadata>;

export const CustomerProvidedTextMetadata = named(
  'CustomerProvidedTextMetadata',
  'Text file metadata',
  dto({ file_size: FileSize, mime_type: MimeType }),
);
export type CustomerProvidedTextMetadata = z.infer<typeof CustomerProvidedTextMetadata>;

export const CustomerProvidedPdfMetadata = named(
  'CustomerProvidedPdfMetadata',
  'PDF metadata (the SDK has no mime_type field here)',
  dto({ file_size: FileSize, num_pages: z.int().positive().describe('Pages a viewer shows') }),
);
export type CustomerProvidedPdfMetadata = z.infer<typeof CustomerProvidedPdfMetadata>;

/** One element of pydicom's `to_json_dict()` (DICOM JSON model, PS3.18 F). */
export type DicomJsonElement = {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
};

/**
 * The element's outline; what its value must look like for its VR is checked by
 * src/validate/dicom-tags.ts (a JSON Schema for every VR would be unreadable).
 */
export const DicomJsonElement = named(
  'DicomJsonElement',
  'A DICOM JSON element as pydicom Dataset.to_json_dict() writes it: vr plus at most one of Value, InlineBinary, BulkDataURI',
  z.looseObject({
    vr: z.string(),
    Value: z.array(z.unknown()).optional(),
    InlineBinary: z.string().optional(),
    BulkDataURI: z.string().optional(),
  }),
);

const DicomTagValue = DicomJsonElement.nullable();

export const CustomerProvidedDicomSeriesDicomFileMetadata = named(
  'CustomerProvidedDicomSeriesDicomFileMetadata',
  'Per-file DICOM tags: the 22 required tags as keys (8 uppercase hex digits), each a DICOM JSON element or null',
  dto({
    tags: z
      .object(Object.fromEntries(REQUIRED_DICOM_TAG_KEYS.map((key) => [key, DicomTagValue])))
      .catchall(DicomTagValue),
  }),
);
export type CustomerProvidedDicomSeriesDicomFileMetadata = {
  tags: Record<string, DicomJsonElement | null>;
};

import { z } from 'zod';

/**
 * Encord's CustomerProvided*Metadata (encord/orm/storage.py). Field names are snake_case as in
 * the JSON upload file; input may also use the camelCase wire aliases (see `./casing.ts`).
 * These schemas check types only, like the SDK; value rules live in src/validate/.
 */
export const CustomerProvidedImageMetadata = z.object({
  mime_type: z.string(),
  file_size: z.int(),
  height: z.int(),
  width: z.int(),
});
export type CustomerProvidedImageMetadata = z.infer<typeof CustomerProvidedImageMetadata>;

export const CustomerProvidedVideoMetadata = z.object({
  fps: z.number(),
  duration: z.number(),
  width: z.int(),
  height: z.int(),
  file_size: z.int(),
  mime_type: z.string(),
});
export type CustomerProvidedVideoMetadata = z.infer<typeof CustomerProvidedVideoMetadata>;

export const CustomerProvidedAudioMetadata = z.object({
  duration: z.number(),
  file_size: z.int(),
  mime_type: z.string(),
  sample_rate: z.int(),
  bit_depth: z.int(),
  codec: z.string(),
  num_channels: z.int(),
});
export type CustomerProvidedAudioMetadata = z.infer<typeof CustomerProvidedAudioMetadata>;

export const CustomerProvidedTextMetadata = z.object({
  file_size: z.int(),
  mime_type: z.string(),
});
export type CustomerProvidedTextMetadata = z.infer<typeof CustomerProvidedTextMetadata>;

export const CustomerProvidedPdfMetadata = z.object({
  file_size: z.int(),
  num_pages: z.int(),
});
export type CustomerProvidedPdfMetadata = z.infer<typeof CustomerProvidedPdfMetadata>;

/** One element of pydicom's `to_json_dict()` (DICOM JSON model, PS3.18 F). */
export type DicomJsonElement = {
  vr: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
};

export const CustomerProvidedDicomSeriesDicomFileMetadata = z.object({
  tags: z.record(z.string(), z.union([z.looseObject({ vr: z.string() }), z.null()])),
});
export type CustomerProvidedDicomSeriesDicomFileMetadata = {
  tags: Record<string, DicomJsonElement | null>;
};

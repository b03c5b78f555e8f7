import { z } from 'zod';
import { dto, dtoWithPatternKeys } from './dto.js';
import { ClientMetadata, Title, Url } from './fields.js';
import {
  CustomerProvidedAudioMetadata,
  CustomerProvidedDicomSeriesDicomFileMetadata,
  CustomerProvidedImageMetadata,
  CustomerProvidedPdfMetadata,
  CustomerProvidedTextMetadata,
  CustomerProvidedVideoMetadata,
} from './metadata.js';
import { named } from './named.js';

/**
 * Encord's documented JSON upload file (cloud data registration). Canonical spelling follows the
 * docs: snake_case top-level keys (`image_groups`, `skip_duplicate_urls`), camelCase item keys
 * (`objectUrl`, `clientMetadata`, `videoMetadata`, `createVideo`), snake_case inside the
 * *Metadata objects. The docs name only videos, audio, image_groups, images and dicom_series; the
 * text, pdf and nifti keys are the SDK's. Per-frame metadata as `imageMetadata_{n}` or
 * `dicomMetadata_{n}` beside `objectUrl_{n}` follows the objectUrl_{n} convention; Encord does
 * not document it.
 */

export const OBJECT_URL_KEY = /^objectUrl_(\d+)$/;
export const IMAGE_METADATA_KEY = /^imageMetadata_(\d+)$/;
export const DICOM_METADATA_KEY = /^dicomMetadata_(\d+)$/;

const ItemTitle = Title.nullish().describe('Title; defaults to the URL path');

function fileItem<Extra extends z.ZodRawShape>(extra: Extra) {
  return dto({ objectUrl: Url, title: ItemTitle, clientMetadata: ClientMetadata.optional(), ...extra });
}

export const JsonUploadFileVideo = named(
  'JsonUploadFileVideo',
  'A video in the JSON upload file',
  fileItem({ videoMetadata: CustomerProvidedVideoMetadata.nullish() }),
);
export const JsonUploadFileImage = named(
  'JsonUploadFileImage',
  'An image in the JSON upload file',
  fileItem({ imageMetadata: CustomerProvidedImageMetadata.nullish() }),
);
export const JsonUploadFileAudio = named(
  'JsonUploadFileAudio',
  'An audio file in the JSON upload file',
  fileItem({ audioMetadata: CustomerProvidedAudioMetadata.nullish() }),
);
export const JsonUploadFileText = named(
  'JsonUploadFileText',
  'A text file in the JSON upload file',
  fileItem({ textMetadata: CustomerProvidedTextMetadata.nullish() }),
);
export const JsonUploadFilePdf = named(
  'JsonUploadFilePdf',
  'A PDF in the JSON upload file',
  fileItem({ pdfMetadata: CustomerProvidedPdfMetadata.nullish() }),
);
export const JsonUploadFileNifti = named('JsonUploadFileNifti', 'A NIfTI volume in the JSON upload file', fileItem({}));

const GroupTitle = Title.describe('Title of the group or series (required for cloud data)');

export const JsonUploadFileImageGroup = named(
  'JsonUploadFileImageGroup',
  'An image group (createVideo false) or image sequence (createVideo true); frames as objectUrl_0, objectUrl_1, ..., optional metadata of frame n as imageMetadata_n',
  dtoWithPatternKeys(
    { title: GroupTitle, createVideo: z.boolean().optional(), clientMetadata: ClientMetadata.optional() },
    { [OBJECT_URL_KEY.source]: Url, [IMAGE_METADATA_KEY.source]: CustomerProvidedImageMetadata },
  ),
);

export const JsonUploadFileDicomSeries = named(
  'JsonUploadFileDicomSeries',
  'A DICOM series; files as objectUrl_0, objectUrl_1, ..., optional tags of file n as dicomMetadata_n',
  dtoWithPatternKeys(
    { title: GroupTitle, clientMetadata: ClientMetadata.optional() },
    {
      [OBJECT_URL_KEY.source]: Url,
      [DICOM_METADATA_KEY.source]: CustomerProvidedDicomSeriesDicomFileMetadata,
    },
  ),
);

export const JsonUploadFile = named(
  'JsonUploadFile',
  'The JSON file Encord registers cloud data from',
  dto({
    videos: z.array(JsonUploadFileVideo).optional(),
    images: z.array(JsonUploadFileImage).optional(),
    image_groups: z.array(JsonUploadFileImageGroup).optional(),
    dicom_series: z.array(JsonUploadFileDicomSeries).optional(),
    audio: z.array(JsonUploadFileAudio).optional(),
    text: z.array(JsonUploadFileText).optional(),
    pdf: z.array(JsonUploadFilePdf).optional(),
    nifti: z.array(JsonUploadFileNifti).optional(),
    skip_duplicate_urls: z
      .boolean()
      .optional()
      .describe('Skip objects whose URL already exists in the folder (default false)'),
    upsert_metadata: z
      .boolean()
      .optional()
      .describe('Update metadata of existing items with the same URL; only with skip_duplicate_urls'),
  }),
);
export type JsonUploadFile = z.infer<typeof JsonUploadFile>;

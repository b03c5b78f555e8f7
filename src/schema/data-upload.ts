import { z } from 'zod';
import { dto } from './dto.js';
import { ClientMetadata, Title, Url, Uuid } from './fields.js';
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
 * The SDK's DataUpload* objects (encord/orm/storage.py), canonical in the SDK's snake_case field
 * names. Optional SDK fields accept null (pydantic v2 makes `Optional[...]` without a default
 * required-but-nullable, v1 makes it optional; both forms are accepted here).
 */

const ItemTitle = Title.nullish().describe('Title; derived from the URL if omitted');
const PlaceholderItemUuid = Uuid.nullish().describe('System use only');
const ItemClientMetadata = ClientMetadata.default({});

function fileType<T extends string>(value: T) {
  return z.literal(value).default(value);
}

/** The fields every single-file DataUpload* object has; each adds its type and metadata. */
const singleFileFields = {
  object_url: Url,
  title: ItemTitle,
  client_metadata: ItemClientMetadata,
  placeholder_item_uuid: PlaceholderItemUuid,
};

export const DataUploadImage = named(
  'DataUploadImage',
  'An image to register',
  dto({
    ...singleFileFields,
    external_file_type: fileType('IMAGE'),
    image_metadata: CustomerProvidedImageMetadata.nullish(),
  }),
);
export type DataUploadImage = z.infer<typeof DataUploadImage>;

export const DataUploadVideo = named(
  'DataUploadVideo',
  'A video to register',
  dto({
    ...singleFileFields,
    external_file_type: fileType('VIDEO'),
    video_metadata: CustomerProvidedVideoMetadata.nullish(),
  }),
);
export type DataUploadVideo = z.infer<typeof DataUploadVideo>;

export const DataUploadAudio = named(
  'DataUploadAudio',
  'An audio file to register',
  dto({
    ...singleFileFields,
    audio_metadata: CustomerProvidedAudioMetadata.nullish(),
    external_file_type: fileType('AUDIO'),
  }),
);
export type DataUploadAudio = z.infer<typeof DataUploadAudio>;

export const DataUploadText = named(
  'DataUploadText',
  'A text file to register',
  dto({
    ...singleFileFields,
    external_file_type: fileType('PLAIN_TEXT'),
    text_metadata: CustomerProvidedTextMetadata.nullish(),
  }),
);
export type DataUploadText = z.infer<typeof DataUploadText>;

export const DataUploadPDF = named(
  'DataUploadPDF',
  'A PDF to register',
  dto({
    ...singleFileFields,
    pdf_metadata: CustomerProvidedPdfMetadata.nullish(),
    external_file_type: fileType('PDF'),
  }),
);
export type DataUploadPDF = z.infer<typeof DataUploadPDF>;

export const DataUploadNifti = named(
  'DataUploadNifti',
  'A NIfTI volume to register (Encord takes no metadata for it)',
  dto({
    ...singleFileFields,
    external_file_type: fileType('NIFTI'),
  }),
);
export type DataUploadNifti = z.infer<typeof DataUploadNifti>;

export const DataUploadImageGroupImage = named(
  'DataUploadImageGroupImage',
  'One image of an image group (its key is url, not object_url)',
  dto({
    url: Url,
    title: ItemTitle,
    image_metadata: CustomerProvidedImageMetadata.nullish(),
    placeholder_item_uuid: PlaceholderItemUuid,
  }),
);
export type DataUploadImageGroupImage = z.infer<typeof DataUploadImageGroupImage>;

const GroupTitle = Title.nullish().describe('Title; required if using cloud integration');

export const DataUploadImageGroup = named(
  'DataUploadImageGroup',
  'An image group, or an image sequence when create_video is true',
  dto({
    images: z.array(DataUploadImageGroupImage),
    title: GroupTitle,
    client_metadata: ItemClientMetadata,
    create_video: z.boolean().default(false).describe('True: an image sequence backed by a video'),
    external_file_type: fileType('IMG_GROUP'),
    cluster_by_resolution: z.boolean().default(false).describe('System use only'),
  }),
);
export type DataUploadImageGroup = z.infer<typeof DataUploadImageGroup>;

export const DataUploadImageGroupFromItems = named(
  'DataUploadImageGroupFromItems',
  'An image group or sequence made of images already in storage',
  dto({
    image_items: z.array(Uuid),
    title: GroupTitle,
    client_metadata: ItemClientMetadata,
    create_video: z.boolean(),
    video_url_prefix: z.string().nullish(),
    external_file_type: fileType('IMG_GROUP_FROM_ITEMS'),
    cluster_by_resolution: z.boolean().default(false).describe('System use only'),
  }),
);
export type DataUploadImageGroupFromItems = z.infer<typeof DataUploadImageGroupFromItems>;

export const DataUploadDicomSeriesDicomFile = named(
  'DataUploadDicomSeriesDicomFile',
  'One file of a DICOM series',
  dto({
    url: Url,
    title: ItemTitle,
    dicom_metadata: CustomerProvidedDicomSeriesDicomFileMetadata.nullish(),
    placeholder_item_uuid: PlaceholderItemUuid,
  }),
);
export type DataUploadDicomSeriesDicomFile = z.infer<typeof DataUploadDicomSeriesDicomFile>;

export const DataUploadDicomSeries = named(
  'DataUploadDicomSeries',
  'A DICOM series',
  dto({
    dicom_files: z.array(DataUploadDicomSeriesDicomFile),
    title: GroupTitle,
    client_metadata: ItemClientMetadata,
    external_file_type: fileType('DICOM'),
  }),
);
export type DataUploadDicomSeries = z.infer<typeof DataUploadDicomSeries>;

export const DataUploadItems = named(
  'DataUploadItems',
  'Items to register in a storage folder (the SDK dataItems payload)',
  dto({
    videos: z.array(DataUploadVideo).default([]),
    image_groups: z.array(DataUploadImageGroup).default([]),
    dicom_series: z.array(DataUploadDicomSeries).default([]),
    images: z.array(DataUploadImage).default([]),
    image_groups_from_items: z.array(DataUploadImageGroupFromItems).default([]),
    audio: z.array(DataUploadAudio).default([]),
    nifti: z.array(DataUploadNifti).default([]),
    text: z.array(DataUploadText).default([]),
    pdf: z.array(DataUploadPDF).default([]),
    skip_duplicate_urls: z
      .boolean()
      .default(false)
      .describe('Skip items whose URL already exists in the folder; otherwise duplicates are created'),
    upsert_metadata: z
      .boolean()
      .default(false)
      .describe('Update metadata of existing items with the same URL; no effect unless skip_duplicate_urls'),
  }),
);
export type DataUploadItems = z.infer<typeof DataUploadItems>;

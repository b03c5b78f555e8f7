import { z } from 'zod';
import { dto } from './dto.js';
import { Uuid } from './fields.js';
import { named } from './named.js';

/**
 * Storage objects the Encord API returns or takes besides uploads (encord/orm/storage.py,
 * encord/orm/dataset.py, SDK v0.1.190), canonical in snake_case; the wire uses camelCase.
 * Optional SDK fields accept null or absence (pydantic v2 vs v1, see data-upload.ts).
 */

export const StorageLocationName = named(
  'StorageLocationName',
  'Where an item is stored (openTelekom is legacy, superseded by s3Compatible)',
  z.enum(['encord', 'gcp', 's3', 'azure', 'openTelekom', 'directAccess', 's3Compatible']),
);
export type StorageLocationName = z.infer<typeof StorageLocationName>;

export const StorageItemType = named(
  'StorageItemType',
  'Kind of storage item (timeSeries is newer than SDK v0.1.190 and listed in the docs)',
  z.enum([
    'video',
    'image',
    'group',
    'imageGroup',
    'imageSequence',
    'dicomFile',
    'dicomSeries',
    'audio',
    'nifti',
    'plainText',
    'pdf',
    'scene',
    'timeSeries',
  ]),
);
export type StorageItemType = z.infer<typeof StorageItemType>;

const nullableInt = z.int().nullish();
const nullableString = z.string().nullish();

export const StorageItem = named(
  'StorageItem',
  'An item in an Encord storage folder',
  dto({
    uuid: Uuid,
    parent: Uuid,
    item_type: StorageItemType,
    name: z.string(),
    description: z.string().default(''),
    client_metadata: z.string().describe('Client metadata as JSON text'),
    owner: z.string(),
    created_at: z.string().describe('Date-time'),
    last_edited_at: z.string().describe('Date-time'),
    is_tombstone: z.boolean().default(false),
    is_placeholder: z.boolean().default(false),
    backed_data_units_count: z.int(),
    storage_location: StorageLocationName,
    integration_hash: Uuid.nullish(),
    url: nullableString,
    signed_url: nullableString,
    file_size: nullableInt,
    mime_type: nullableString,
    duration: z.number().nullish(),
    fps: z.number().nullish(),
    height: nullableInt,
    width: nullableInt,
    dicom_instance_uid: nullableString,
    dicom_study_uid: nullableString,
    dicom_series_uid: nullableString,
    frame_count: nullableInt,
    audio_sample_rate: nullableInt,
    audio_bit_depth: nullableInt,
    audio_codec: nullableString,
    audio_num_channels: nullableInt,
  }),
);
export type StorageItem = z.infer<typeof StorageItem>;

/** s3://bucket/path, gs://bucket/path, or https://host/container-or-bucket/path (Azure blob, S3-compatible). */
export const REMOTE_URL_PATTERN = /^(?:(?:s3|gs):\/\/[^/\s]+|https:\/\/[^/\s]+\/[^/\s]+)(?:\/\S*)?$/;

export const CloudSyncedFolderParams = named(
  'CloudSyncedFolderParams',
  'Links a storage folder to a cloud bucket path',
  dto({
    integration_uuid: Uuid,
    remote_url: z
      .string()
      .regex(REMOTE_URL_PATTERN)
      .describe(
        's3://bucket/path/, gs://bucket/path/, https://account.blob.core.windows.net/container/path/ or https://endpoint/bucket/path/',
      ),
  }),
);
export type CloudSyncedFolderParams = z.infer<typeof CloudSyncedFolderParams>;

export const LongPollingStatus = named(
  'LongPollingStatus',
  'State of an upload job: DONE may still carry errors when ignore_errors was set',
  z.enum(['PENDING', 'DONE', 'ERROR', 'CANCELLED']),
);
export type LongPollingStatus = z.infer<typeof LongPollingStatus>;

export const DataUnitError = named(
  'DataUnitError',
  'Why one item of an upload job failed',
  dto({
    object_urls: z.array(z.string()).describe('One URL for a file; every frame for a group or series'),
    error: z.string(),
    subtask_uuid: Uuid.describe('Quote this when contacting support'),
    action_description: z.string(),
  }),
);
export type DataUnitError = z.infer<typeof DataUnitError>;

const StorageItemWithName = dto({ item_uuid: Uuid, name: z.string() });
const Count = z.int().nonnegative();

export const UploadLongPollingState = named(
  'UploadLongPollingState',
  'Progress and result of an upload job',
  dto({
    status: LongPollingStatus,
    items_with_names: z.array(StorageItemWithName),
    errors: z.array(z.string()),
    units_pending_count: Count,
    units_done_count: Count,
    units_error_count: Count,
    units_cancelled_count: Count,
    unit_errors: z.array(DataUnitError),
    file_name: z.string().nullish(),
  }),
);
export type UploadLongPollingState = z.infer<typeof UploadLongPollingState>;

const ItemShortInfo = dto({
  uuid: Uuid,
  name: z.string(),
  parent_uuid: Uuid,
  parent_name: z.string(),
  item_type: StorageItemType,
});

const DatasetShortInfo = dto({
  dataset_hash: z.string(),
  backing_folder_uuid: Uuid.nullish(),
  title: z.string(),
  data_hashes: z.array(Uuid),
  data_units_created_at: z.string().describe('Date-time'),
});

const DataGroupShortInfo = dto({
  layout_contents: z.record(z.string(), z.unknown()),
  layout: z.unknown(),
  layout_settings: z.unknown(),
});

export const StorageItemSummary = named(
  'StorageItemSummary',
  'Where a storage item is used',
  dto({
    frame_in_groups: Count,
    accessible_group_items: z.array(ItemShortInfo),
    used_in_datasets: Count,
    accessible_datasets: z.array(DatasetShortInfo),
    data_group: DataGroupShortInfo.nullish(),
  }),
);
export type StorageItemSummary = z.infer<typeof StorageItemSummary>;

export const SyncPrivateDataWithCloudSyncedFolderStatus = named(
  'SyncPrivateDataWithCloudSyncedFolderStatus',
  'State of a cloud-synced folder sync job',
  z.enum(['pending', 'done', 'error', 'cancelled']),
);
export type SyncPrivateDataWithCloudSyncedFolderStatus = z.infer<typeof SyncPrivateDataWithCloudSyncedFolderStatus>;

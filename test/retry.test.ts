import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupErrors, readSpec, readUploadJob, RetryPlan } from '../src/spec/index.js';
import { validateDocument } from '../src/validate/index.js';
import { runCli } from './helpers/cli.js';

/** `encord-media retry`: the upload job's failures, summarised, become a spec of just those items. */

const fixtures = join(import.meta.dirname, 'fixtures', 'spec');
const fixture = (name: string) => join(fixtures, name);
const readFixture = (name: string) => JSON.parse(readFileSync(fixture(name), 'utf8')) as unknown;
const scratch = mkdtempSync(join(tmpdir(), 'encord-media-retry-'));

describe('retry', () => {
  it('writes the failed items, a group or series whole when any of its frames failed, and summarises the job', async () => {
    const out = join(scratch, 'retry.json');
    const run = await runCli(['retry', fixture('retry-job.json'), '--spec', fixture('retry-spec.json'), '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'status DONE (upload.json)',
      'units: 3 done, 0 pending, 4 error, 0 cancelled',
      '2 x Failed to read object (e.g. s3://b/v/bad.mp4)',
      '1 x Image could not be decoded (e.g. s3://b/g/1.png)',
      "1 x The value of DICOM tag 'StudyInstanceUID' should be consistent across files in a series (e.g. s3://b/ct/1.dcm)",
      `retry: 4 failed items (6 URLs) -> ${out}`,
      '',
    ]);
    const spec = JSON.parse(readFileSync(out, 'utf8'));
    expect(spec).toEqual({
      videos: [
        {
          objectUrl: 's3://b/v/bad.mp4',
          title: 'bad.mp4',
          clientMetadata: { shot: 7 },
          videoMetadata: { fps: 29.97, duration: 12.5, width: 1920, height: 1080, file_size: 123456, mime_type: 'video/mp4' },
        },
      ],
      images: [{ objectUrl: 's3://b/i/2.png', title: '2.png' }],
      image_groups: [{ title: 'pair', createVideo: false, objectUrl_0: 's3://b/g/0.png', objectUrl_1: 's3://b/g/1.png' }],
      dicom_series: [{ title: 'ct', objectUrl_0: 's3://b/ct/1.dcm', objectUrl_1: 's3://b/ct/2.dcm' }],
      skip_duplicate_urls: true,
    });
    expect(validateDocument(spec, { as: 'upload-file' }).errorCount).toBe(0);
  });

  it('reads a snake_case job, writes dataItems on request, and fails on failed URLs the spec does not hold', async () => {
    const run = await runCli(['retry', fixture('retry-job-snake.json'), '--spec', fixture('retry-spec.json'), '--format', 'data-items']);
    expect(run.code).toBe(1);
    const spec = JSON.parse(run.stdout);
    expect(spec.images).toEqual([{ objectUrl: 's3://b/i/1.png', title: '1.png', clientMetadata: {}, externalFileType: 'IMAGE' }]);
    expect(spec.videos).toEqual([]);
    expect(spec.skipDuplicateUrls).toBe(true);
    expect(run.stderr).toContain('status ERROR');
    expect(run.stderr).toContain('units: 0 done, 2 pending, 2 error, 1 cancelled');
    expect(run.stderr).toContain('job error: Upload stopped after the first error (ignore_errors is false)');
    expect(run.stderr).toContain('2 x Access denied');
    expect(run.stderr).toContain('retry: 1 failed URLs are not in');
    expect(run.stderr).toContain('  s3://b/elsewhere/x.png');
  });

  it('plans from the library: job state in either casing, errors grouped, entries selected by URL', () => {
    const camel = readUploadJob(readFixture('retry-job.json'));
    const snake = readUploadJob(readFixture('retry-job-snake.json'));
    expect(camel).toMatchObject({ status: 'DONE', done: 3, pending: 0, errored: 4, cancelled: 0, fileName: 'upload.json' });
    expect(camel.unitErrors[2]).toEqual({
      objectUrls: ['s3://b/ct/1.dcm', 's3://b/ct/2.dcm'],
      error: "The value of DICOM tag 'StudyInstanceUID' should be consistent across files in a series",
      subtaskUuid: '9b0e7f52-1111-4a2b-8c3d-000000000003',
      actionDescription: 'Uploading DICOM series',
    });
    expect(snake).toMatchObject({ status: 'ERROR', pending: 2, errored: 2, cancelled: 1 });
    expect(groupErrors(camel).map((group) => [group.count, group.urls.length])).toEqual([[2, 2], [1, 1], [1, 2]]);
    const plan = new RetryPlan(camel);
    const entries = readSpec(readFixture('retry-spec.json')).entries.map((located) => located.entry);
    expect([...plan.select(entries)].map((entry) => entry.title)).toEqual(['bad.mp4', '2.png', 'pair', 'ct']);
    expect(plan.unmatched()).toEqual([]);
  });

  it('rejects a file that is not an upload job', async () => {
    const run = await runCli(['retry', fixture('retry-spec.json'), '--spec', fixture('retry-spec.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not an UploadLongPollingState');
  });
});

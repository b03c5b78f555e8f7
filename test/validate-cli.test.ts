import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specsDir } from './fixtures/specs/load.js';

/**
 * The `validate` and `schema` commands, run as users run them: the CLI built by tsc into a
 * temporary folder (so a concurrent `npm run build` elsewhere cannot race it), then `node main.js`.
 */
const repo = join(import.meta.dirname, '..');
const build = mkdtempSync(join(tmpdir(), 'validate-cli-'));
const main = join(build, 'cli', 'main.js');
const files = join(specsDir, 'files');

beforeAll(() => {
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'tsconfig.json'), '--outDir', build], { stdio: 'pipe' });
  } catch {
    // Type errors elsewhere in a tree being worked on still emit JavaScript; the CLI's presence decides.
  }
  symlinkSync(join(repo, 'node_modules'), join(build, 'node_modules'), 'dir');
  expect(existsSync(main)).toBe(true);
});
afterAll(() => rmSync(build, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [main, ...args], { cwd: files, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

describe('encord-media validate', () => {
  it('exits 0 for a valid upload file', async () => {
    const result = await run(['validate', 'upload-file.json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('valid: 1 file checked (upload-file), 0 invalid, 0 errors, 0 warnings\n');
  });

  it('exits 0 when there are only warnings, and shows them', async () => {
    const result = await run(['validate', 'warnings-only.json']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('warnings-only.json:/images/0/imageMetadata/mime_type  unsupported_by_encord  warning: Encord cannot display image/gif\n');
  });

  it('exits 1 and prints file:pointer  code  message for each finding', async () => {
    const result = await run(['validate', 'invalid-upload-file.json', 'upload-file.json']);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')).toEqual([
      'invalid-upload-file.json:/videos/0/videoMetadata/fps  invalid_fps  fps: Too small: expected number to be >0',
      'invalid-upload-file.json:/upsert_metadata  upsert_without_skip  warning: upsert_metadata has no effect unless skip_duplicate_urls is true',
      'invalid-upload-file.json:/videos/0/videoMetadata/mimeType  browser_support_limited  warning: Encord shows video/quicktime only in Safari',
      'invalid-upload-file.json:/videos/1/objectUrl  duplicate_url  same URL as /videos/0/objectUrl; Encord would create a second item (set skip_duplicate_urls to skip it)',
      'invalid: 2 files checked (upload-file), 1 invalid, 2 errors, 2 warnings',
      '',
    ]);
  });

  it('reports malformed JSON by line and column, without a stack trace', async () => {
    const result = await run(['validate', 'malformed.json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("malformed.json  invalid_json  invalid JSON at line 4, column 3: unexpected character \"]\"\n");
    expect(result.stderr).toBe('');
  });

  it('names JSONL findings by line', async () => {
    const result = await run(['validate', 'metadata.jsonl']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('metadata.jsonl:2:/num_pages  invalid_num_pages  ');
  });

  it('reads stdin for -', async () => {
    const result = await run(['validate', '-', '--as', 'video'], '{"fps": 30}');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('-:/duration  missing_field  required field "duration" is missing\n');
  });

  it('prints JSON with --json', async () => {
    const result = await run(['validate', '--json', 'invalid-upload-file.json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ valid: false, files: [{ file: 'invalid-upload-file.json', kind: 'upload-file', format: 'json', errorCount: 2, warningCount: 2 }] });
    expect(report.files[0].findings[0]).toEqual({
      pointer: '/videos/0/videoMetadata/fps', code: 'invalid_fps', severity: 'error', message: 'fps: Too small: expected number to be >0', file: 'invalid-upload-file.json',
    });
  });

  it('exits 2 for unreadable input, after checking the others', async () => {
    const result = await run(['validate', 'missing.json', 'upload-file.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^encord-media validate: cannot read missing.json: ENOENT/);
    expect(result.stdout).toContain('1 unreadable');
  });

  it('exits 2 for bad usage', async () => {
    expect((await run(['validate', '--as', 'movie', 'upload-file.json'])).code).toBe(2);
    expect((await run(['validate'])).code).toBe(2);
    expect((await run(['validate', '-', '-'])).code).toBe(2);
    expect((await run(['validate', '--max-findings', '0', 'upload-file.json'])).code).toBe(2);
  });
});

describe('encord-media schema', () => {
  it('lists every name with its description', async () => {
    const result = await run(['schema']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^JsonUploadFile +The JSON file Encord registers cloud data from$/m);
    expect(result.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(28);
  });

  it('prints a JSON Schema that validates the fixture', async () => {
    const result = await run(['schema', 'JsonUploadFile']);
    expect(result.code).toBe(0);
    const validate = new Ajv2020().compile(JSON.parse(result.stdout));
    expect(validate(JSON.parse(readFileSync(join(files, 'upload-file.json'), 'utf8')))).toBe(true);
    expect(validate({ videos: [{ title: 'no url' }] })).toBe(false);
  });

  it('exits 2 for an unknown name', async () => {
    const result = await run(['schema', 'Movie']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown name "Movie"');
  });
});

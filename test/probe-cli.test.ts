import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

/** The probe command over the committed sample set (test-assets/sample, made by scripts/make-test-assets.mjs). */
const sample = 'test-assets/sample';
const sizeOf = (relative: string) => statSync(`${sample}/${relative}`).size;

function parseLines(stdout: string): Record<string, any>[] {
  return stdout.trim().split('\n').map((line) => JSON.parse(line));
}

describe('encord-media probe', () => {
  it('prints exactly one JSON line per input of a directory tree, and exit 1 for the broken one', async () => {
    const { code, stdout } = await runCli(['probe', '--jsonl', sample]);
    const lines = parseLines(stdout);
    expect(lines).toHaveLength(14);
    expect(code).toBe(1);
    const byName = new Map(lines.map((line) => [line.file.replace(`${sample}/`, ''), line]));
    expect(byName.get('broken/truncated.png')).toEqual({
      file: `${sample}/broken/truncated.png`,
      error: { code: 'truncated', message: expect.stringContaining('PNG') },
    });
    expect(byName.get('images/rotated.jpg')).toMatchObject({
      modality: 'image',
      metadata: { mime_type: 'image/jpeg', file_size: sizeOf('images/rotated.jpg'), width: 48, height: 64 },
      warnings: [{ code: 'orientation_applied' }],
    });
    expect(byName.get('video/clip.mp4')).toMatchObject({
      modality: 'video',
      metadata: { fps: 25, duration: 1, width: 64, height: 48, mime_type: 'video/mp4' },
    });
    expect(byName.get('audio/tone.wav')?.metadata).toEqual({
      duration: 0.5, file_size: sizeOf('audio/tone.wav'), mime_type: 'audio/wav', sample_rate: 8000, bit_depth: 16, codec: 'pcm', num_channels: 1,
    });
    expect(byName.get('documents/three-pages.pdf')?.metadata).toEqual({ file_size: sizeOf('documents/three-pages.pdf'), num_pages: 3 });
    expect(byName.get('volumes/brain.nii')?.modality).toBe('nifti');
    expect(byName.get('dicom/part-b/slice-3.dcm')?.metadata.tags['00200013']).toEqual({ vr: 'IS', Value: [3] });
  });

  it('reads a list of inputs from stdin with -, keeping missing files as error lines', async () => {
    const input = `${sample}/text/notes.txt\n${sample}/nope.png\n`;
    const { code, stdout } = await runCli(['probe', '--jsonl', '-c', '1', '-'], { input });
    const lines = parseLines(stdout);
    expect(lines.map((line) => line.file)).toEqual([`${sample}/text/notes.txt`, `${sample}/nope.png`]);
    expect(lines[0]).toMatchObject({ modality: 'text', metadata: { file_size: sizeOf('text/notes.txt'), mime_type: 'text/plain' } });
    expect(lines[1]?.error.code).toBe('io_error');
    expect(code).toBe(1);
  });

  it('gives the stored size with --orientation stored', async () => {
    const { code, stdout } = await runCli(['probe', '--jsonl', '--orientation', 'stored', `${sample}/images/rotated.jpg`]);
    expect(code).toBe(0);
    expect(parseLines(stdout)[0]?.metadata).toMatchObject({ width: 64, height: 48 });
  });

  it('refuses bad options with an error exit and no output', async () => {
    const { code, stdout } = await runCli(['probe', '--concurrency', '0', sample]);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
  });
});

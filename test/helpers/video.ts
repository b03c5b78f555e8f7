import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../scripts/fixtures-video.mjs';
import { probeVideo } from '../../src/probes/video.js';
import { FileSource } from '../../src/sources/index.js';

const run = promisify(execFile);

/** Writes each fixture into `dir` with the pinned ffmpeg (name -> its arguments); returns name -> path. */
export async function writeVideoFixtures(dir: string, fixtures: Record<string, string[]>): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  for (const [name, args] of Object.entries(fixtures)) {
    paths[name] = join(dir, name);
    await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...args, paths[name]!], { maxBuffer: 1 << 20 });
  }
  return paths;
}

/** probeVideo over a local file, closed afterwards, as detection named it `mime`. */
export async function probeVideoFile(path: string, mime: string) {
  const source = new FileSource(path, path);
  try {
    return await probeVideo(source, { options: {}, detection: { modality: 'video', mime, format: '', warnings: [] } });
  } finally {
    await source.close();
  }
}

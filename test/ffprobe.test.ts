import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture } from '../scripts/fixtures-video.mjs';
import { ffprobeVersion, runFfprobe } from '../src/probes/ffprobe.js';
import { probe } from '../src/probes/index.js';
import { BufferSource, FileSource } from '../src/sources/index.js';

let dir: string;
let mp4: string;
let slowFfprobe: string;

/** The commands of this process's child processes (Linux /proc). */
function childCommands(): string[] {
  return readdirSync('/proc/self/task').flatMap((task) => readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
    .map((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ffprobe-test-'));
  mp4 = await makeFixture(dir, 'cfr.mp4');
  slowFfprobe = join(dir, 'slow-ffprobe');
  writeFileSync(slowFfprobe, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 }); // an ffprobe that hangs
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runFfprobe', () => {
  it('reports streams, format and the ffprobe version', async () => {
    const result = await runFfprobe(new FileSource(mp4));
    expect(result.format.format_name).toContain('mp4');
    expect(result.streams[0]).toMatchObject({ codec_type: 'video', codec_name: 'h264', width: 320, height: 240, avg_frame_rate: '25/1' });
    expect(result.version).toMatch(/^ffprobe version \S+/);
    expect(result.version).toBe(await ffprobeVersion());
  });

  it('passes extra arguments (packet counting)', async () => {
    const result = await runFfprobe(new FileSource(mp4), {}, ['-count_packets']);
    expect(result.streams[0]!.nb_read_packets).toBe('50');
  });

  it('reads a Buffer through its loopback range server', async () => {
    const result = await runFfprobe(new BufferSource(readFileSync(mp4), 'in-memory.mp4'));
    expect(result.streams[0]).toMatchObject({ width: 320, height: 240 });
    expect(result.format.duration).toBe('2.000000');
  });

  it('opens a path that looks like another protocol as a plain file', async () => {
    const tricky = join(dir, 'concat:evil|cfr.mp4');
    copyFileSync(mp4, tricky);
    const result = await runFfprobe(new FileSource(tricky));
    expect(result.streams[0]?.width).toBe(320);
  });

  it('refuses playlists and concat scripts that name other inputs', async () => {
    const playlist = join(dir, 'list.m3u8');
    writeFileSync(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n${mp4}\n#EXT-X-ENDLIST\n`);
    const script = join(dir, 'list.ffconcat');
    writeFileSync(script, `ffconcat version 1.0\nfile '${mp4}'\n`);
    for (const path of [playlist, script]) {
      await expect(runFfprobe(new FileSource(path))).rejects.toMatchObject({ code: 'corrupt_file' });
    }
  });

  it('kills ffprobe past the time limit', async () => {
    await expect(runFfprobe(new FileSource(mp4), { timeoutMs: 1 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('stops ffprobe when the probe is cancelled, leaving no process behind', async () => {
    const cancel = new AbortController();
    const probing = probe(await makeFixture(dir, 'mpeg2.wtv'), { signal: cancel.signal, ffprobePath: slowFfprobe });
    setTimeout(() => cancel.abort(), 100);
    await expect(probing).rejects.toMatchObject({ code: 'io_error', message: expect.stringMatching(/cancelled/) });
    expect(childCommands()).not.toContain('sleep');
  });

  it('reports a missing binary as tool_missing', async () => {
    await expect(runFfprobe(new FileSource(mp4), { ffprobePath: join(dir, 'no-such-ffprobe') })).rejects.toMatchObject({ code: 'tool_missing' });
  });
});

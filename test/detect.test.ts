import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { detect } from '../src/detect.js';
import { BufferSource } from '../src/sources/buffer.js';

const detectBytes = (bytes: Uint8Array, name: string) => detect(new BufferSource(bytes, name));

function niftiHeader(): Buffer {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.write('n+1\0', 344, 'latin1');
  return header;
}

/** An explicit-VR little-endian data set with no preamble: (0008,0016) UI "1.2". */
function dicomWithoutPreamble(): Buffer {
  const element = Buffer.alloc(12);
  element.writeUInt16LE(0x0008, 0);
  element.writeUInt16LE(0x0016, 2);
  element.write('UI', 4, 'latin1');
  element.writeUInt16LE(4, 6);
  element.write('1.2\0', 8, 'latin1');
  return element;
}

describe('detect', () => {
  it('recognises images by signature, whatever the name', async () => {
    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: 'red' } }).png().toBuffer();
    expect(await detectBytes(png, 'photo.png')).toMatchObject({ modality: 'image', mime: 'image/png', warnings: [] });
    const named = await detectBytes(png, 'photo.mp3');
    expect(named.modality).toBe('image');
    expect(named.warnings.map((w) => w.code)).toEqual(['extension_mismatch']);
  });

  it('warns when the extension names another format of the same modality', async () => {
    const jpeg = await sharp({ create: { width: 4, height: 3, channels: 3, background: 'red' } }).jpeg().toBuffer();
    expect((await detectBytes(jpeg, 'photo.heic')).warnings.map((w) => w.code)).toEqual(['extension_mismatch']);
  });

  it('takes BOM-marked UTF-16 as text even where file-type sees MPEG frames', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('1\r\n00:00:01,000 --> 00:00:02,000\r\nhi\r\n', 'utf16le')]);
    expect(await detectBytes(utf16, 'subs.srt')).toMatchObject({ modality: 'text' });
  });

  it('takes FF FE as MPEG audio when a second frame follows the first', async () => {
    // Layer I, 384 kb/s, 32 kHz: 576-byte frames whose header starts FF FE.
    const frames = Buffer.alloc(576 * 3, 0x55);
    for (const at of [0, 576, 1152]) frames.writeUInt32BE(0xfffec804, at);
    expect(await detectBytes(frames, 'song.mp1')).toMatchObject({ modality: 'audio', mime: 'audio/mpeg' });
  });

  it('routes SVG to the image probe (which refuses it), not to text', async () => {
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
    expect(await detectBytes(svg, 'logo.svg')).toMatchObject({ modality: 'image', mime: 'image/svg+xml' });
  });

  it('knows TAK, Shorten, TTA and WTV by signature, where the zeros of silence would pass for text', async () => {
    const silent = (magic: number[]) => Buffer.concat([Buffer.from(magic), Buffer.alloc(2000)]);
    expect(await detectBytes(silent([...Buffer.from('tBaK')]), 'a.tak')).toMatchObject({ modality: 'audio', mime: 'audio/x-tak' });
    expect(await detectBytes(silent([...Buffer.from('ajkg'), 2]), 'a.shn')).toMatchObject({ modality: 'audio', mime: 'audio/x-shorten' });
    // ffmpeg writes TTA with no tag in front, so file-type's ID3-led signature misses it.
    expect(await detectBytes(silent([...Buffer.from('TTA1'), 1, 0]), 'a.tta')).toMatchObject({ modality: 'audio', mime: 'audio/x-tta', warnings: [] });
    const wtvGuid = [0xb7, 0xd8, 0x00, 0x20, 0x37, 0x49, 0xda, 0x11, 0xa6, 0x4e, 0x00, 0x07, 0xe9, 0x5e, 0xad, 0x8d];
    expect(await detectBytes(silent(wtvGuid), 'show.wtv')).toMatchObject({ modality: 'video', mime: 'video/x-ms-wtv', warnings: [] });
  });

  it('takes an Ogg file as video when a Theora stream follows an audio one (file-type names the first stream)', async () => {
    /** A beginning-of-stream page (CRC left 0: detection does not check it) holding `body`. */
    const bosPage = (serial: number, body: Buffer) => {
      const header = Buffer.alloc(28);
      header.write('OggS', 0, 'latin1');
      header[5] = 0x02;
      header.writeUInt32LE(serial, 14);
      header[26] = 1;
      header[27] = body.byteLength;
      return Buffer.concat([header, body]);
    };
    const vorbis = bosPage(1, Buffer.concat([Buffer.from('\x01vorbis', 'latin1'), Buffer.alloc(22)]));
    const theora = bosPage(2, Buffer.concat([Buffer.from('\x80theora', 'latin1'), Buffer.alloc(35)]));
    expect(await detectBytes(Buffer.concat([vorbis, theora, Buffer.alloc(200)]), 'clip.ogg')).toMatchObject({ modality: 'video', mime: 'video/ogg' });
    expect(await detectBytes(Buffer.concat([vorbis, Buffer.alloc(200)]), 'song.ogg')).toMatchObject({ modality: 'audio', mime: 'audio/ogg' });
    // Skeleton first (file-type: application/ogg), then Vorbis: every BOS page in view, none video.
    const skeleton = bosPage(3, Buffer.concat([Buffer.from('fishead\x00', 'latin1'), Buffer.alloc(56)]));
    expect(await detectBytes(Buffer.concat([skeleton, vorbis]), 'song.ogx')).toMatchObject({ modality: 'audio', mime: 'audio/ogg' });
    // A DirectShow OGM header may be audio or video, and BOS pages running past the bytes detection
    // reads leave the streams unknown: the video probe looks first.
    const directShow = bosPage(4, Buffer.from('\x01Direct Show Samples embedded in Ogg', 'latin1'));
    expect(await detectBytes(Buffer.concat([skeleton, directShow]), 'clip.ogx')).toMatchObject({ modality: 'video' });
    const manySkeletons = Buffer.concat(Array.from({ length: 100 }, (_, serial) => bosPage(serial, Buffer.concat([Buffer.from('fishead\x00', 'latin1'), Buffer.alloc(56)]))));
    expect(await detectBytes(manySkeletons, 'long.ogx')).toMatchObject({ modality: 'video' });
  });

  it('takes transport stream packets in step from any offset as a transport stream (a capture cut mid-packet, fill bytes first)', async () => {
    for (const size of [188, 192, 204]) {
      const packets = Buffer.alloc(size * 30, 0xff);
      for (let at = 0; at < packets.byteLength; at += size) packets.writeUInt32BE(0x47000010, at);
      const cut = packets.subarray(size - 37);
      expect(await detectBytes(cut, 'capture.ts')).toMatchObject({ modality: 'video', mime: 'video/mp2t' });
      for (const fill of [3, 400, 1500]) {
        expect(await detectBytes(Buffer.concat([Buffer.alloc(fill, 0xff), packets]), 'capture.bin')).toMatchObject({ modality: 'video', mime: 'video/mp2t' });
      }
      const broken = Buffer.from(cut);
      broken[broken.indexOf(0x47, 2000)] = 0x00;
      expect((await detectBytes(broken, 'capture.bin')).mime).not.toBe('video/mp2t');
    }
  });

  it('takes an MPEG program stream after 0x00 or 0xFF fill as video, where file-type saw MPEG audio in the fill', async () => {
    // A pack header (MPEG-2), then a video PES start code.
    const pack = Buffer.from([0x00, 0x00, 0x01, 0xba, 0x44, 0x00, 0x04, 0x00, 0x04, 0x01, 0x01, 0x89, 0xc3, 0xf8, 0x00, 0x00, 0x01, 0xe0, 0x07, 0xec]);
    const stream = Buffer.concat([pack, Buffer.alloc(3000, 0x11)]);
    for (const fill of [0x00, 0xff]) {
      for (const length of [3, 100, 1000]) {
        expect(await detectBytes(Buffer.concat([Buffer.alloc(length, fill), stream]), 'clip.mpg')).toMatchObject({ modality: 'video', mime: 'video/mpeg' });
      }
    }
    // Fill then a pack start code with nothing after it that opens a pack: not taken.
    const lone = Buffer.concat([Buffer.alloc(100, 0xff), Buffer.from([0x00, 0x00, 0x01, 0xba]), Buffer.alloc(3000, 0x11)]);
    expect((await detectBytes(lone, 'clip.bin')).mime).not.toBe('video/mpeg');
  });

  it('finds DICOM without a preamble and NIfTI by header', async () => {
    expect(await detectBytes(dicomWithoutPreamble(), 'slice')).toMatchObject({ modality: 'dicom' });
    expect(await detectBytes(niftiHeader(), 'brain.nii')).toMatchObject({ modality: 'nifti' });
  });

  it('prefers a media extension over the weak look of a data set without preamble', async () => {
    // A TGA header (no signature) whose first bytes also parse as two implicit-VR elements.
    const tga = Buffer.concat([Buffer.from([0, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0xc8, 1, 0x7b, 0, 0xc8, 1, 0x18, 0x20]), Buffer.alloc(64, 0x80)]);
    expect(await detectBytes(tga, 'sample.tga')).toMatchObject({ modality: 'image' });
    expect(await detectBytes(tga, 'sample')).toMatchObject({ modality: 'dicom' });
  });

  it('sends a PDF with junk before its header to the PDF probe', async () => {
    const pdf = Buffer.from('garbage line\n%PDF-1.4\n1 0 obj\n<<>>\nendobj\n');
    expect(await detectBytes(pdf, 'doc.pdf')).toMatchObject({ modality: 'pdf' });
  });

  it('lets a media extension route bytes no signature knows, and refuses the rest', async () => {
    const noise = Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37 + 11) % 256));
    expect(await detectBytes(noise, 'clip.mp3')).toMatchObject({ modality: 'audio' });
    await expect(detectBytes(noise, 'blob.bin')).rejects.toMatchObject({ code: 'unsupported_format' });
  });

  it('reports empty input and non-media types with their codes', async () => {
    await expect(detectBytes(new Uint8Array(0), 'empty.txt')).rejects.toMatchObject({ code: 'empty_file' });
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100, 1)]);
    await expect(detectBytes(zip, 'a.zip')).rejects.toMatchObject({ code: 'unsupported_format' });
  });
});

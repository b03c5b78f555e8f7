import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isGzippedNifti, isNifti, probeNifti } from '../src/probes/nifti.js';
import type { ProbeContext } from '../src/probes/types.js';
import { BufferSource } from '../src/sources/buffer.js';

const context: ProbeContext = {
  options: {},
  detection: { modality: 'nifti', mime: 'application/nifti', format: 'nifti', warnings: [] },
};

interface Header {
  version?: 1 | 2;
  littleEndian?: boolean;
  dims?: number[];
  datatype?: number;
  bitpix?: number;
  voxOffset?: number;
  magic?: string;
  /** Bytes of voxel data written after the header; defaults to what the header declares. */
  dataBytes?: number;
}

/** A single-file NIfTI-1 (348-byte header) or NIfTI-2 (540-byte header) volume. */
function nifti({ version = 1, littleEndian = true, dims = [4, 5, 6], datatype = 4, bitpix = 16, voxOffset, magic, dataBytes }: Header = {}): Uint8Array {
  const offset = voxOffset ?? (version === 1 ? 352 : 544);
  const voxels = dataBytes ?? (dims.reduce((a, b) => a * b, 1) * bitpix) / 8;
  const bytes = Buffer.alloc(Math.max(offset, version === 1 ? 352 : 544) + voxels);
  const view = new DataView(bytes.buffer);
  if (version === 1) {
    view.setInt32(0, 348, littleEndian);
    view.setInt16(40, dims.length, littleEndian);
    dims.forEach((d, i) => view.setInt16(42 + 2 * i, d, littleEndian));
    view.setInt16(70, datatype, littleEndian);
    view.setInt16(72, bitpix, littleEndian);
    view.setFloat32(108, offset, littleEndian);
    bytes.write(magic ?? 'n+1\0', 344, 'latin1');
  } else {
    view.setInt32(0, 540, littleEndian);
    bytes.write(magic ?? 'n+2\0\r\n\x1a\n', 4, 'latin1');
    view.setInt16(12, datatype, littleEndian);
    view.setInt16(14, bitpix, littleEndian);
    view.setBigInt64(16, BigInt(dims.length), littleEndian);
    dims.forEach((d, i) => view.setBigInt64(24 + 8 * i, BigInt(d), littleEndian));
    view.setBigInt64(168, BigInt(offset), littleEndian);
  }
  return bytes;
}

async function probe(bytes: Uint8Array, name = 'volume.nii') {
  const source = new BufferSource(bytes, name);
  return { ...(await probeNifti(source, context)), bytesRead: source.bytesRead };
}

async function failure(bytes: Uint8Array, name = 'volume.nii'): Promise<string> {
  return probeNifti(new BufferSource(bytes, name), context).then(
    () => 'no error',
    (error: { code?: string }) => error.code ?? 'no code',
  );
}

describe('probeNifti', () => {
  it.each([
    ['NIfTI-1 little endian', { version: 1 as const }],
    ['NIfTI-1 big endian', { version: 1 as const, littleEndian: false }],
    ['NIfTI-2 little endian', { version: 2 as const, datatype: 16, bitpix: 32 }],
    ['NIfTI-2 big endian', { version: 2 as const, littleEndian: false, dims: [8, 8, 2, 3] }],
  ])('sizes a %s .nii', async (_, header) => {
    const bytes = nifti(header);
    const result = await probe(bytes);
    expect(result.metadata).toEqual({ file_size: bytes.length, mime_type: 'application/nifti' });
    expect(result.details).toMatchObject({ niftiVersion: header.version, gzip: false, littleEndian: header.littleEndian ?? true });
  });

  it('inflates only the start of a .nii.gz', async () => {
    const raw = nifti({ dims: [256, 256, 64], datatype: 2, bitpix: 8 });
    let state = 2463534242;
    for (let i = 352; i < raw.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      raw[i] = state & 0xff; // noise: the gzip stream stays megabytes long
    }
    const gz = gzipSync(raw);
    const result = await probe(gz, 'volume.nii.gz');
    expect(result.metadata).toEqual({ file_size: gz.length, mime_type: 'application/nifti' });
    expect(result.details).toMatchObject({ gzip: true, dims: [256, 256, 64], datatype: 2 });
    expect(result.bytesRead).toBeLessThan(gz.length / 4);
  });

  it('reports voxel data the file does not hold as truncated', async () => {
    const whole = nifti();
    expect(await failure(whole.subarray(0, whole.length - 1))).toBe('truncated');
    const gz = gzipSync(whole);
    expect(await failure(gz.subarray(0, gz.length - 12), 'volume.nii.gz')).toBe('truncated');
  });

  it.each([
    ['dimensions out of range', { dims: [] }, 'corrupt_file'],
    ['a zero dimension', { dims: [4, 0, 2], dataBytes: 8 }, 'corrupt_file'],
    ['an unknown datatype', { datatype: 3 }, 'corrupt_file'],
    ['bitpix that does not match the datatype', { datatype: 16, bitpix: 16 }, 'corrupt_file'],
    ['vox_offset inside the header', { voxOffset: 348 }, 'corrupt_file'],
    ['a .hdr/.img pair header', { magic: 'ni1\0' }, 'unsupported_format'],
  ])('rejects %s', async (_, header, code) => {
    expect(await failure(nifti(header as Header))).toBe(code);
  });

  it('rejects other bytes', async () => {
    expect(await failure(new Uint8Array(0))).toBe('empty_file');
    expect(await failure(Buffer.alloc(600, 1))).toBe('unsupported_format');
    expect(await failure(gzipSync(Buffer.from('not a volume')), 'x.nii.gz')).toBe('unsupported_format');
  });
});

describe('isNifti / isGzippedNifti', () => {
  it('recognise NIfTI-1 and NIfTI-2 headers, plain and gzipped', () => {
    for (const version of [1, 2] as const) {
      const bytes = nifti({ version, littleEndian: version === 1 });
      expect(isNifti(bytes)).toBe(true);
      expect(isGzippedNifti(gzipSync(bytes).subarray(0, 4096))).toBe(true);
      expect(isNifti(gzipSync(bytes))).toBe(false);
    }
  });

  it('refuse other bytes', () => {
    expect(isNifti(Buffer.alloc(600))).toBe(false);
    expect(isGzippedNifti(gzipSync(Buffer.alloc(600)))).toBe(false);
  });
});

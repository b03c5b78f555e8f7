import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ctSlice, dicomFile, pixelData, TS } from '../scripts/fixtures-dicom.mjs';
import { isDicom, probeDicom } from '../src/probes/dicom.js';
import type { ProbeContext } from '../src/probes/types.js';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';

type Element = { tag: number; vr: string; value: unknown; undefinedLength?: boolean; length?: number };

const context: ProbeContext = {
  options: {},
  detection: { modality: 'dicom', mime: 'application/dicom', format: 'dicom', warnings: [] },
};

async function probe(bytes: Uint8Array) {
  const source = new BufferSource(bytes, 'test.dcm');
  const result = await probeDicom(source, context);
  return { ...result, tags: result.metadata.tags, bytesRead: source.bytesRead };
}

async function probeError(bytes: Uint8Array): Promise<string> {
  const error = await probeDicom(new BufferSource(bytes, 'test.dcm'), context).then(
    () => undefined,
    (e: { code?: string }) => e,
  );
  return error?.code ?? 'no error';
}

const le16 = (value: number) => {
  const b = Buffer.alloc(2);
  b.writeInt16LE(value);
  return b;
};

/** An enhanced (multi-frame) header: functional groups nested three deep, both length forms. */
function enhanced(undefinedLength: boolean): Element[] {
  const frame = (z: number) => ({
    elements: [
      { tag: 0x00209111, vr: 'SQ', value: [[{ tag: 0x00209157, vr: 'UL', value: [1, z + 1] }]] },
      { tag: 0x00209113, vr: 'SQ', undefinedLength, value: [[{ tag: 0x00200032, vr: 'DS', value: `0\\0\\${z * 2.5}` }]] },
    ],
    undefinedLength,
  });
  return [
    { tag: 0x00080018, vr: 'UI', value: '1.2.3.4' },
    { tag: 0x00209113, vr: 'SQ', value: [] },
    { tag: 0x00280008, vr: 'IS', value: '2' },
    {
      tag: 0x52009229,
      vr: 'SQ',
      undefinedLength,
      value: [
        {
          elements: [
            { tag: 0x00209116, vr: 'SQ', value: [[{ tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' }]] },
            {
              tag: 0x00289110,
              vr: 'SQ',
              undefinedLength,
              value: [[{ tag: 0x00180050, vr: 'DS', value: '1.25' }, { tag: 0x00280030, vr: 'DS', value: '0.5\\0.5' }]],
            },
          ],
          undefinedLength,
        },
      ],
    },
    { tag: 0x52009230, vr: 'SQ', undefinedLength, value: [frame(0), frame(1)] },
  ];
}

const ENHANCED_JSON = {
  '52009229': {
    vr: 'SQ',
    Value: [
      {
        '00209116': { vr: 'SQ', Value: [{ '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] } }] },
        '00289110': { vr: 'SQ', Value: [{ '00180050': { vr: 'DS', Value: [1.25] }, '00280030': { vr: 'DS', Value: [0.5, 0.5] } }] },
      },
    ],
  },
  '52009230': {
    vr: 'SQ',
    Value: [0, 1].map((z) => ({
      '00209111': { vr: 'SQ', Value: [{ '00209157': { vr: 'UL', Value: [1, z + 1] } }] },
      '00209113': { vr: 'SQ', Value: [{ '00200032': { vr: 'DS', Value: [0, 0, z * 2.5] } }] },
    })),
  },
};

describe('probeDicom: the 22 tags in pydicom JSON form', () => {
  const syntaxes = Object.entries(TS).filter(([name]) => name !== 'jpegBaseline');

  it.each(syntaxes)('reads a CT slice in %s', async (_, transferSyntax) => {
    const { tags, warnings } = await probe(dicomFile([...ctSlice(), pixelData(new Uint8Array(32))], { transferSyntax }));
    expect(Object.keys(tags)).toHaveLength(22);
    expect(warnings).toEqual([]);
    expect(tags['00080018']).toEqual({ vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.2.1'] });
    expect(tags['00100020']).toEqual({ vr: 'LO', Value: ['PAT-é'] }); // ISO_IR 100
    expect(tags['00180050']).toEqual({ vr: 'DS', Value: [2.5] });
    expect(tags['00200013']).toEqual({ vr: 'IS', Value: [1] });
    expect(tags['00200032']).toEqual({ vr: 'DS', Value: [-125, -125, 0] });
    expect(tags['00280010']).toEqual({ vr: 'US', Value: [4] });
    expect(tags['00280030']).toEqual({ vr: 'DS', Value: [0.48828125, 0.48828125] });
    expect(tags['00281050']).toEqual({ vr: 'DS', Value: [40, 400] });
    expect(tags['00181114']).toBeNull();
    expect(tags['52009230']).toBeNull();
  });

  it.each([
    ['implicit VR without meta', TS.implicitLE],
    ['explicit VR big endian without meta', TS.explicitBE],
    ['explicit VR little endian without meta', TS.explicitLE],
  ])('reads a data set with no preamble and no file meta: %s', async (_, transferSyntax) => {
    const { tags, details } = await probe(dicomFile(ctSlice(), { transferSyntax, meta: false }));
    expect(tags['00280011']).toEqual({ vr: 'US', Value: [4] });
    expect(tags['00200037']).toEqual({ vr: 'DS', Value: [1, 0, 0, 0, 1, 0] });
    expect(details).toMatchObject({ hasPreamble: false, transferSyntaxUid: null });
  });

  it('reads file meta written without the preamble', async () => {
    const { tags, details } = await probe(dicomFile(ctSlice(), { transferSyntax: TS.implicitLE, preamble: false }));
    expect(tags['00100020']).toEqual({ vr: 'LO', Value: ['PAT-é'] });
    expect(details).toMatchObject({ transferSyntaxUid: TS.implicitLE });
  });

  it.each(
    [TS.implicitLE, TS.explicitLE, TS.explicitBE, TS.deflated].flatMap((ts) => [
      [ts, false],
      [ts, true],
    ]),
  )('decodes nested functional group sequences (%s, undefined length %s)', async (transferSyntax, undefinedLength) => {
    const { tags } = await probe(dicomFile(enhanced(undefinedLength as boolean), { transferSyntax: transferSyntax as string }));
    expect(tags['52009229']).toEqual(ENHANCED_JSON['52009229']);
    expect(tags['52009230']).toEqual(ENHANCED_JSON['52009230']);
    expect(tags['00209113']).toEqual({ vr: 'SQ', Value: [] });
    expect(tags['00280008']).toEqual({ vr: 'IS', Value: [2] });
  });

  it('writes PN groups, AT as hex, binary VRs inline and private elements by their creator', async () => {
    const names = Buffer.from('Yamada^Tarou=山田^太郎=やまだ^たろう\\A^B==\\=C', 'utf8');
    const item = [
      { tag: 0x00081070, vr: 'PN', value: names },
      { tag: 0x00209165, vr: 'AT', value: [0x00209157, 0x00200032] },
      { tag: 0x00290010, vr: 'LO', value: 'SIEMENS CSA HEADER' },
      { tag: 0x00291008, vr: 'CS', value: 'IMAGE NUM 4' },
      { tag: 0x00291010, vr: 'OB', value: Uint8Array.of(1, 2, 3) },
      { tag: 0x00431001, vr: 'UN', value: Uint8Array.of(0xff) },
    ];
    for (const transferSyntax of [TS.explicitLE, TS.explicitBE, TS.implicitLE]) {
      const elements = [{ tag: 0x00080005, vr: 'CS', value: 'ISO_IR 192' }, { tag: 0x52009229, vr: 'SQ', value: [item] }];
      const { tags } = await probe(dicomFile(elements, { transferSyntax }));
      const decoded = (tags['52009229']!.Value as Array<Record<string, unknown>>)[0]!;
      expect(decoded['00081070']).toEqual({
        vr: 'PN',
        Value: [
          { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' },
          { Alphabetic: 'A^B' },
          { Alphabetic: '', Ideographic: 'C' },
        ],
      });
      expect(decoded['00209165']).toEqual({ vr: 'AT', Value: ['00209157', '00200032'] });
      expect(decoded['00291008']).toEqual({ vr: 'CS', Value: ['IMAGE NUM 4'] }); // implicit: VR from the private dictionary
      expect(decoded['00291010']).toEqual({ vr: 'OB', InlineBinary: 'AQID' });
      expect(decoded['00431001']).toEqual({ vr: 'UN', InlineBinary: '/w==' });
    }
  });

  it('trims values exactly as pydicom does', async () => {
    const { tags } = await probe(
      dicomFile([
        { tag: 0x00080018, vr: 'UI', value: Uint8Array.from(Buffer.from('1.2.3\0')) },
        { tag: 0x00100020, vr: 'LO', value: '  lead\0 ' },
        { tag: 0x00180050, vr: 'DS', value: ' 0.5 ' },
        { tag: 0x00200013, vr: 'IS', value: '+5' },
        { tag: 0x00280004, vr: 'CS', value: 'AXIAL ' },
        { tag: 0x00280008, vr: 'IS', value: '1.9' },
        { tag: 0x00281051, vr: 'DS', value: '1e3\\ 2 ' },
      ]),
    );
    expect(tags['00080018']).toEqual({ vr: 'UI', Value: ['1.2.3'] });
    expect(tags['00100020']).toEqual({ vr: 'LO', Value: ['  lead'] });
    expect(tags['00180050']).toEqual({ vr: 'DS', Value: [0.5] });
    expect(tags['00200013']).toEqual({ vr: 'IS', Value: [5] });
    expect(tags['00280004']).toEqual({ vr: 'CS', Value: ['AXIAL'] });
    expect(tags['00280008']).toEqual({ vr: 'IS', Value: [1] }); // an IS of 1.9 is truncated by int()
    expect(tags['00281051']).toEqual({ vr: 'DS', Value: [1000, 2] });
  });

  it('writes empty elements without Value, except an empty sequence', async () => {
    const { tags } = await probe(
      dicomFile([
        { tag: 0x00100020, vr: 'LO', value: '' },
        { tag: 0x00209116, vr: 'SQ', value: [] },
        { tag: 0x00281050, vr: 'DS', value: '  ' },
        { tag: 0x00280010, vr: 'US', value: [] },
      ]),
    );
    expect(tags['00100020']).toEqual({ vr: 'LO' });
    expect(tags['00209116']).toEqual({ vr: 'SQ', Value: [] });
    expect(tags['00281050']).toEqual({ vr: 'DS' });
    expect(tags['00280010']).toEqual({ vr: 'US' });
  });

  it('gives null and an invalid_value warning for a value its VR cannot hold', async () => {
    const elements = ctSlice().map((e) => (e.tag === 0x00200013 ? { ...e, value: '1A' } : e));
    elements.push({ tag: 0x00280008, vr: 'IS', value: '1\\' });
    const { tags, warnings } = await probe(dicomFile(elements));
    expect(tags['00200013']).toBeNull();
    expect(tags['00280008']).toBeNull(); // an empty value in a list: int('') fails
    expect(warnings.map((w) => w.code)).toEqual(['invalid_value', 'invalid_value']);
    expect(warnings[0]!.message).toContain('InstanceNumber (0020,0013)');
    expect(tags['00280010']).toEqual({ vr: 'US', Value: [4] });
  });

  it('resolves ambiguous VRs of implicit files as pydicom does', async () => {
    const item = [{ tag: 0x00280106, vr: 'US', value: le16(-5) }, { tag: 0x60003000, vr: 'OW', value: Uint8Array.of(1, 2, 3, 4) }];
    const file = (undefinedLength: boolean) =>
      dicomFile(
        [
          { tag: 0x00280103, vr: 'US', value: [1] },
          { tag: 0x52009229, vr: 'SQ', undefinedLength, value: [{ elements: item, undefinedLength }] },
        ],
        { transferSyntax: TS.implicitLE },
      );
    const defined = (await probe(file(false))).tags['52009229']!.Value as Array<Record<string, unknown>>;
    expect(defined[0]).toEqual({
      '00280106': { vr: 'SS', Value: [-5] }, // Pixel Representation 1 reaches the items
      '60003000': { vr: 'OW', InlineBinary: 'AQIDBA==' }, // 60xx repeating group
    });
    // pydicom parses undefined-length sequences while reading, before the representation is known.
    const open = (await probe(file(true))).tags['52009229']!.Value as Array<Record<string, unknown>>;
    expect(open[0]!['00280106']).toEqual({ vr: 'US', Value: [65531] });
  });

  it('reads an undefined-length UN element as a sequence', async () => {
    // PS3.5 6.2.2: its items are implicit VR little endian, closed by a sequence delimiter.
    const body = dicomFile([{ tag: 0x00200037, vr: 'DS', value: '0\\1\\0\\0\\0\\-1' }], { transferSyntax: TS.implicitLE, meta: false });
    const header = Buffer.alloc(8);
    header.writeUInt32LE(0xe000fffe);
    header.writeUInt32LE(body.length, 4);
    const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    const value = Buffer.concat([header, body, delimiter]);
    const { tags } = await probe(dicomFile([{ tag: 0x00209116, vr: 'UN', undefinedLength: true, value }]));
    expect(tags['00209116']).toEqual({ vr: 'SQ', Value: [{ '00200037': { vr: 'DS', Value: [0, 1, 0, 0, 0, -1] } }] });
  });

  it('honours ISO 2022 code extensions and Latin-1', async () => {
    const japanese = Uint8Array.from(Buffer.from('\x1b$B;3ED\x1b(B', 'latin1'));
    const { tags } = await probe(
      dicomFile([
        { tag: 0x00080005, vr: 'CS', value: '\\ISO 2022 IR 87' },
        { tag: 0x00100020, vr: 'LO', value: japanese },
      ]),
    );
    expect(tags['00100020']).toEqual({ vr: 'LO', Value: ['山田'] });
  });
});

describe('probeDicom: damaged and foreign bytes', () => {
  const slice = ctSlice();

  it('reports Pixel Data that runs past the end of the file as truncated', async () => {
    const whole = dicomFile([...slice, pixelData(new Uint8Array(1000))]);
    expect(await probeError(whole.subarray(0, whole.length - 10))).toBe('truncated');
  });

  it('checks encapsulated Pixel Data fragments against the file end', async () => {
    const fragments = Buffer.concat([
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0, 0, 0, 0]), // empty basic offset table
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 4, 0, 0, 0, 1, 2, 3, 4]),
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const encapsulated = { tag: 0x7fe00010, vr: 'OB', undefinedLength: true, value: fragments };
    const whole = dicomFile([...slice, encapsulated], { transferSyntax: TS.jpegBaseline });
    expect((await probe(whole)).tags['00280010']).toEqual({ vr: 'US', Value: [4] });
    expect(await probeError(whole.subarray(0, whole.length - 10))).toBe('truncated');
  });

  it('reports a file cut inside its header as truncated', async () => {
    const whole = dicomFile(slice);
    for (const cut of [200, 400, whole.length - 3]) expect(await probeError(whole.subarray(0, cut))).toBe('truncated');
  });

  it('reports a skipped value that runs past the end of a large file as truncated', async () => {
    const blob = { tag: 0x00091010, vr: 'OB', value: new Uint8Array(1024 * 1024) };
    const whole = dicomFile([{ tag: 0x00080018, vr: 'UI', value: '1.2.3' }, { tag: 0x00090010, vr: 'LO', value: 'ACME' }, blob]);
    expect(await probeError(whole.subarray(0, 300 * 1024))).toBe('truncated');
  });

  it('rejects bytes that are not a DICOM data set', async () => {
    expect(await probeError(new Uint8Array(0))).toBe('empty_file');
    expect(await probeError(gzipSync(dicomFile(slice)))).toBe('unsupported_format');
    expect(await probeError(Buffer.from('hello, this is plain text and not DICOM at all'))).toBe('unsupported_format');
    const late = Buffer.concat([Buffer.from([0x20]), dicomFile(slice, { transferSyntax: TS.explicitLE, meta: false })]);
    expect(await probeError(late)).toBe('corrupt_file');
  });

  it('reports a deflated data set that ends early as truncated', async () => {
    const whole = dicomFile(slice, { transferSyntax: TS.deflated });
    expect(await probeError(whole.subarray(0, whole.length - 20))).toBe('truncated');
  });

  it('reads DICOMDIR-like objects without image tags', async () => {
    const { tags, warnings } = await probe(dicomFile([{ tag: 0x00041130, vr: 'CS', value: 'FILESET' }, { tag: 0x00041220, vr: 'SQ', value: [] }]));
    expect(Object.values(tags).every((v) => v === null)).toBe(true);
    expect(warnings).toEqual([]);
  });
});

describe('probeDicom: reads the header only', () => {
  it('never reads Pixel Data', async () => {
    const { tags, bytesRead } = await probe(dicomFile([...ctSlice(), pixelData(new Uint8Array(4 * 1024 * 1024))]));
    expect(tags['00280011']).toEqual({ vr: 'US', Value: [4] });
    expect(bytesRead).toBeLessThanOrEqual(64 * 1024);
  });

  it('skips large values it does not need', async () => {
    const blob = { tag: 0x00091010, vr: 'OB', value: new Uint8Array(2 * 1024 * 1024) };
    const elements = [{ tag: 0x00090010, vr: 'LO', value: 'ACME' }, blob, ...ctSlice().filter((e) => e.tag > 0x00091010)];
    const { tags, bytesRead } = await probe(dicomFile([...elements, pixelData(new Uint8Array(1024))]));
    expect(tags['00200013']).toEqual({ vr: 'IS', Value: [1] });
    expect(bytesRead).toBeLessThan(256 * 1024);
  });
});

describe('isDicom', () => {
  it('recognises the DICM prefix and data sets without preamble', () => {
    expect(isDicom(dicomFile(ctSlice()))).toBe(true);
    for (const transferSyntax of [TS.implicitLE, TS.explicitLE, TS.explicitBE]) {
      expect(isDicom(dicomFile(ctSlice(), { transferSyntax, meta: false }))).toBe(true);
    }
    expect(isDicom(dicomFile(ctSlice(), { preamble: false }))).toBe(true);
  });

  it('refuses other bytes', () => {
    expect(isDicom(Buffer.from('%PDF-1.7\n'.padEnd(256, ' ')))).toBe(false);
    expect(isDicom(new Uint8Array(512))).toBe(false);
    expect(isDicom(Buffer.concat([Buffer.from([0x20]), dicomFile(ctSlice(), { meta: false })]))).toBe(false);
  });
});

const corpus = '/work/shared/corpus/dicom';

describe.skipIf(!existsSync(corpus))('probeDicom on the corpus', () => {
  const close = (got: unknown, want: unknown): boolean => {
    if (typeof want === 'number') return typeof got === 'number' && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
    if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && want.every((w, i) => close(got[i], w));
    if (want && typeof want === 'object') {
      if (!got || typeof got !== 'object') return false;
      const keys = new Set([...Object.keys(want), ...Object.keys(got)]);
      return [...keys].every((k) => close((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k]));
    }
    return got === want;
  };

  it('matches pydicom on every file and errs only where an error is expected', async () => {
    const expected = readFileSync(join(corpus, '..', 'expected.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { file: string; status: string; metadata?: unknown })
      .filter((e) => e.file.startsWith('dicom/') && e.status !== 'unsure');
    const names = new Set(readdirSync(corpus));
    const wrong: string[] = [];
    for (const entry of expected.filter((e) => names.has(e.file.slice(6)))) {
      const source = new FileSource(join(corpus, entry.file.slice(6)));
      const result = await probeDicom(source, context).catch((error: Error) => error);
      await source.close();
      const ok = result instanceof Error ? entry.status === 'error' : entry.status === 'ok' && close(result.metadata, entry.metadata);
      if (!ok) wrong.push(entry.file);
    }
    expect(wrong).toEqual([]);
  });
});

/**
 * FFmpeg 5.1 names the codec of an MPEG-TS stream it has no table entry for by probing the PES
 * payload (demux.c probe_codec / set_codec_from_probe_data): at each packet that takes the
 * gathered bytes past a power of two, av_probe_input_format3 runs every demuxer's probe over
 * them, and when the best one (ties name none) is in fmt_id_type the stream takes its codec.
 * Of that table, h264, hevc, m4v, mjpeg_2000 and mpegvideo make a video stream.
 *
 * What is decided here is only whether one of those five can score above zero on some prefix of
 * the bytes: a probe that scores zero is never chosen (av_probe_input_format3 keeps a format only
 * for a score above the best so far, which starts at 0). Each test below is a condition without
 * which that demuxer's probe returns 0, read in its source (libavformat/h264dec.c, hevcdec.c,
 * m4vdec.c, mj2kdec.c, mpegvideodec.c); bytes that pass one may still score zero, and are then
 * left to ffprobe.
 */

const START_CODE_BYTE = 0x01;

/** What follows 00 00 01 that some video probe counts towards a non-zero score. */
function isVideoHeaderByte(byte: number): boolean {
  const h264Sps = (byte & 0x1f) === 7; // h264_probe needs an SPS (and a PPS, and a slice)
  const hevcVps = (byte & 0x7e) >> 1 === 32; // hevc_probe needs a VPS (and SPS, PPS, IRAP)
  const m4vVol = byte >= 0x20 && byte < 0x30; // mpeg4video_probe needs VOL > 0
  const mpegSequence = byte === 0xb3; // mpegvideo_probe needs a sequence header
  return h264Sps || hevcVps || m4vVol || mpegSequence;
}

/** mjpeg2000_probe counts codestreams opening with SOC + SIZ (FF 4F FF 51); it needs two. */
function hasJpeg2000Codestream(bytes: Uint8Array, from: number): boolean {
  return bytes[from] === 0xff && bytes[from + 1] === 0x4f && bytes[from + 2] === 0xff && bytes[from + 3] === 0x51;
}

/**
 * True unless every video demuxer of fmt_id_type scores 0 on every prefix of `bytes` (the
 * stream's PES payloads joined, as the probe buffer grows; its zero padding adds no start code).
 */
export function mayProbeAsVideo(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength; i++) {
    if (hasJpeg2000Codestream(bytes, i)) return true;
    const startCode = bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === START_CODE_BYTE;
    if (startCode && i + 3 < bytes.byteLength && isVideoHeaderByte(bytes[i + 3]!)) return true;
  }
  return false;
}

/**
 * What the video probe needs from a container, in ffprobe's terms, whichever reader produced it
 * (the in-process MP4/Matroska readers or ffprobe itself).
 */
import type { Rational } from './rational.js';

export interface VideoStreamFacts {
  /** Width and height as ffprobe reports them (before any rotation). */
  width: number;
  height: number;
  /** avg_frame_rate; undefined when ffprobe would print 0/0. */
  avgFrameRate?: Rational;
  /** nb_frames, when the container counts the frames. */
  frameCount?: number;
  /** The stream duration in seconds, when known. */
  duration?: number;
  /** sample_aspect_ratio; undefined when ffprobe would print none (unknown). */
  sampleAspectRatio?: Rational;
  /** Display-matrix rotation in whole degrees as ffprobe prints it. */
  rotation?: number;
  /** Frame durations differ beyond time-base rounding. */
  variableFrameRate: boolean;
}

export interface VideoFacts {
  /** MIME type of the container per SPEC.md. */
  mime: string;
  /** format.duration in seconds, when the container states one. */
  containerDuration?: number;
  stream: VideoStreamFacts;
  /** Which reader produced the facts. */
  reader: 'mp4' | 'matroska' | 'ogg' | 'flv' | 'avi' | 'asf' | 'rm' | 'mpegts' | 'mpeg' | 'mxf' | 'ffprobe';
}

/**
 * Thrown by the in-process readers when the file is valid enough but they cannot be sure to give
 * exactly ffprobe's answer (an unusual codec, fragments, odd tables): the probe then asks ffprobe.
 */
export class NeedsFfprobe extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'NeedsFfprobe';
  }
}

import { Problem } from '../core/problems.ts';
import type { Resolution } from './ports.ts';

export const DEFAULT_RESOLUTION: Resolution = Object.freeze({ width: 1280, height: 800 });
const MIN = { width: 640, height: 480 };
const MAX = { width: 3840, height: 2160 };

/** "WIDTHxHEIGHT" within 640x480 to 3840x2160 (even sizes: video encoders and noVNC's scaling like them); the default when absent. */
export function parseResolution(input: string | undefined): Resolution {
  if (input === undefined) return DEFAULT_RESOLUTION;
  const m = /^(\d{3,4})x(\d{3,4})$/.exec(input);
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2]) : NaN;
  if (!m || width < MIN.width || height < MIN.height || width > MAX.width || height > MAX.height || width % 2 || height % 2) {
    throw new Problem(
      'validation_failed',
      `resolution must be WIDTHxHEIGHT, even numbers from ${MIN.width}x${MIN.height} to ${MAX.width}x${MAX.height} (e.g. 1280x800)`,
    );
  }
  return { width, height };
}

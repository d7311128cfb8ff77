import { useRef } from 'react';
import type { Desktop } from '../api.ts';
import { Link, desktopPath } from '../router.tsx';
import { useThumbnail } from '../use-thumbnail.ts';

/**
 * A running desktop's screen in small, a link to its live view (mouse only: the
 * desktop's name is the same link for the keyboard). Other states show an empty frame
 * of the screen's shape, so rows keep their height.
 */
export function DesktopThumbnail({ desktop: d, everyMs }: { desktop: Desktop; everyMs: number }) {
  const frame = useRef<HTMLSpanElement>(null);
  const running = d.state === 'running';
  const src = useThumbnail(d.id, running, everyMs, frame);
  const [width, height] = d.resolution.split('x').map(Number);
  return (
    <span ref={frame} className="thumbnail" data-testid="desktop-thumbnail" data-state={src ? 'shown' : running ? 'loading' : 'none'}>
      <Link to={desktopPath(d.id)} tabIndex={-1} aria-label={`Open ${d.name}`}>
        {src ? <img src={src} alt="" width={width} height={height} /> : <span className="thumbnail-empty" />}
      </Link>
    </span>
  );
}

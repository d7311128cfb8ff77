import type { DesktopAction } from '../../desktops/actions.ts';
import type { Point } from '../../desktops/ports.ts';

/**
 * What the engine needs from an X client connected to a desktop's X server (the
 * `XSession` of x-session.ts): readiness, the liveness probe and the calls the port
 * forwards. Declared here so supervision can be tested and the host built without
 * caring how the client speaks X.
 */
export interface XSessionLike {
  readonly width: number;
  readonly height: number;
  screenshot(): Promise<Buffer>;
  run(actions: DesktopAction[]): Promise<Point>;
  cursor(): Promise<Point>;
  /** Rejects when the server does not answer a round trip within timeoutMs. */
  ping(timeoutMs: number): Promise<void>;
  onClose(callback: () => void): void;
  close(): void;
}

export type ConnectX = (options: { socketPath: string; cookie: Buffer }) => Promise<XSessionLike>;

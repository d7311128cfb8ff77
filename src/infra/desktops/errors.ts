/**
 * Errors of the local desktop engine that the HTTP layer maps to answers. A call on a
 * desktop that is not running is a 409 `desktop_not_running` there; the code is not in
 * the problem catalogue yet, so the engine throws this class and the lead maps it.
 */
export class DesktopNotRunningError extends Error {
  constructor(readonly desktopId: string) {
    super(`desktop ${desktopId} is not running`);
    this.name = 'DesktopNotRunningError';
  }
}

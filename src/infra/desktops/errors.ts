/** The engine throws the domain's error for a desktop that is not running (a 409 through the error handler). */
export { DesktopNotRunningError } from '../../desktops/ports.ts';

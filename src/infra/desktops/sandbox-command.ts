import { lstat, readlink } from 'node:fs/promises';
import type { Resolution } from '../../desktops/ports.ts';
import type { ProgramPaths } from './binaries.ts';
import { INSIDE, type DesktopPaths } from './desktop-dirs.ts';

/**
 * The bubblewrap command line of one desktop and the script its sandbox runs. Pure
 * functions of their inputs (plus `systemLayout`, read once from the host), so the
 * isolation a desktop gets can be read in one place and tested without starting one.
 */

/** The environment variable that marks every process of a desktop, so a later run of the server can find leftovers. */
export const MARKER_VARIABLE = 'BUREAU_DESKTOP';

/** `<tag of the data directory>/<desktop id>`: the tag is a hash, so the desktop does not learn the host path. */
export function markerValue(dataDirTag: string, id: string): string {
  return `${dataDirTag}/${id}`;
}

/**
 * /etc entries the desktop may read. Nothing with secrets (shadow, ssh, the server's
 * own configuration); what shells, fonts, X clients, TLS and the dynamic linker need.
 * passwd, group and hosts are generated per desktop.
 */
export const ETC_ALLOW_LIST = [
  'alternatives',
  'bash.bashrc',
  'ca-certificates',
  'ca-certificates.conf',
  // Debian's chromium wrapper reads its flags from here; policies live in chromium/.
  'chromium',
  'chromium.d',
  'default/locale',
  'fonts',
  'gtk-2.0',
  'gtk-3.0',
  'host.conf',
  'inputrc',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'locale.alias',
  'localtime',
  'mime.types',
  'nsswitch.conf',
  'profile',
  'profile.d',
  'protocols',
  'resolv.conf',
  'services',
  'shells',
  'ssl',
  'terminfo',
  'timezone',
  'X11',
  'xdg',
] as const;

/** Top-level system directories: on merged-/usr systems they are symlinks into /usr and are recreated as such. */
const SYSTEM_ROOTS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

export type SystemLayout = Array<{ path: string; symlinkTo: string } | { path: string; directory: true }>;

/** How this host lays out /bin, /lib and friends (read once: it does not change under a running server). */
export async function systemLayout(): Promise<SystemLayout> {
  const layout: SystemLayout = [];
  for (const path of SYSTEM_ROOTS) {
    const info = await lstat(path).catch(() => null);
    if (!info) continue;
    if (info.isSymbolicLink()) layout.push({ path, symlinkTo: await readlink(path) });
    else if (info.isDirectory()) layout.push({ path, directory: true });
  }
  return layout;
}

export interface SandboxSpec {
  paths: DesktopPaths;
  programs: ProgramPaths;
  layout: SystemLayout;
  resolution: Resolution;
  /** false: the desktop gets its own network namespace with nothing but a loopback (the default). */
  network: boolean;
  /** bwrap --die-with-parent: the sandbox gets SIGKILL when the server process ends. */
  dieWithServer: boolean;
  marker: string;
}

/** The environment every process in the desktop starts with (the server's own is not passed in). */
export function desktopEnvironment(marker: string): Record<string, string> {
  return {
    HOME: INSIDE.home,
    USER: INSIDE.user,
    LOGNAME: INSIDE.user,
    SHELL: '/bin/bash',
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    DISPLAY: INSIDE.display,
    XAUTHORITY: INSIDE.xauthority,
    XDG_RUNTIME_DIR: INSIDE.run,
    [MARKER_VARIABLE]: marker,
  };
}

/**
 * bwrap's options. Handed over through --args on a pipe, so host paths do not show in
 * the command line of the sandbox's init, which the desktop can read. (bwrap takes
 * only options that way: the command, sandboxCommand(), stays on its command line.)
 */
export function sandboxOptions(spec: SandboxSpec): string[] {
  const { paths } = spec;
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(spec.network ? [] : ['--unshare-net']),
    '--hostname',
    INSIDE.hostname,
    // Without a server the desktop has nobody to drive it: by default it ends with it,
    // even when the server is killed with SIGKILL. reapLeftovers covers the rest.
    ...(spec.dieWithServer ? ['--die-with-parent'] : []),
    // A new session: nothing inside can push keystrokes into a terminal outside (TIOCSTI).
    '--new-session',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const entry of spec.layout) {
    if ('symlinkTo' in entry) args.push('--symlink', entry.symlinkTo, entry.path);
    else args.push('--ro-bind', entry.path, entry.path);
  }
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run', '--dir', '/var', '--tmpfs', '/var/tmp');
  for (const entry of ETC_ALLOW_LIST) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  args.push(
    '--ro-bind',
    paths.passwd,
    '/etc/passwd',
    '--ro-bind',
    paths.group,
    '/etc/group',
    '--ro-bind',
    paths.hosts,
    '/etc/hosts',
    // Without the host's font cache every X client rebuilds it: +5 s on a start.
    '--ro-bind-try',
    '/var/cache/fontconfig',
    '/var/cache/fontconfig',
    '--bind',
    paths.home,
    INSIDE.home,
    '--bind',
    paths.run,
    INSIDE.run,
    '--bind',
    paths.x11,
    INSIDE.x11,
    '--ro-bind',
    paths.xauthority,
    INSIDE.xauthority,
    '--chdir',
    INSIDE.home,
    '--clearenv',
  );
  for (const [name, value] of Object.entries(desktopEnvironment(spec.marker))) args.push('--setenv', name, value);
  return args;
}

/** What the sandbox runs (see launcherScript). */
export function sandboxCommand(spec: Pick<SandboxSpec, 'programs' | 'resolution'>): string[] {
  return ['/bin/sh', '-c', launcherScript(spec), 'desktop-launcher'];
}

/** Quotes a value for sh: every argument we build goes through it. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * What the sandbox runs: the X server, and once it listens the window manager, which
 * starts the terminal itself when it is ready (launching apps before it is ready
 * stalled starts). The sandbox lives as long as the X server: when it dies the script
 * ends, the sandbox's init with it, and supervision restarts the desktop.
 */
export function launcherScript(spec: Pick<SandboxSpec, 'programs' | 'resolution'>): string {
  const { programs, resolution } = spec;
  const xvnc = [
    programs.Xvnc,
    INSIDE.display,
    '-geometry',
    `${resolution.width}x${resolution.height}`,
    '-depth',
    '24',
    '-auth',
    INSIDE.xauthority,
    // VNC only on a Unix socket only its owner may use; no TCP for VNC or X.
    '-rfbunixpath',
    INSIDE.vncSocket,
    '-rfbunixmode',
    '0600',
    '-rfbport',
    '-1',
    '-nolisten',
    'tcp',
    // The server authenticates viewers before it pipes them to this socket.
    '-SecurityTypes',
    'None',
    // Several viewers (a person and an agent's dashboard) share one screen, and none
    // may resize it under the agent's coordinates.
    '-AlwaysShared',
    '-DisconnectClients=0',
    '-AcceptSetDesktopSize=0',
    '-desktop',
    'desktop',
  ]
    .map(shellQuote)
    .join(' ');
  const terminal = `${programs.xterm} -fa Monospace -fs 11`;
  // Output goes to files in the sandbox's own /tmp, not to the server: a desktop
  // outliving its server must not die of SIGPIPE, and apps could flood the server's log.
  // The X server's last lines reach the server's stderr pipe when it ends.
  const lastWords = 'tail -n 3 /tmp/xvnc.log >&2';
  return [
    `${xvnc} >/tmp/xvnc.log 2>&1 &`,
    'xvnc=$!',
    `while [ ! -S ${INSIDE.x11}/X0 ]; do kill -0 "$xvnc" 2>/dev/null || { ${lastWords}; exit 1; }; sleep 0.02; done`,
    `${shellQuote(programs.openbox)} --startup ${shellQuote(terminal)} >/tmp/openbox.log 2>&1 &`,
    'wait "$xvnc"',
    'status=$?',
    `${lastWords} 2>/dev/null`,
    'exit "$status"',
  ].join('\n');
}

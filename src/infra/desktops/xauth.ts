import { randomBytes } from 'node:crypto';

/** X's family number for "any address": the entry matches whatever host name a client uses. */
const FAMILY_WILD = 0xffff;
const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';

/** A fresh 16-byte MIT-MAGIC-COOKIE-1, made on every start of a desktop's X server. */
export function newCookie(): Buffer {
  return randomBytes(16);
}

function counted(data: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(data.length);
  return Buffer.concat([length, data]);
}

/**
 * The bytes of an Xauthority file with one wildcard entry for the cookie: the X server
 * reads it through -auth and clients inside the desktop through XAUTHORITY. A wildcard
 * entry with no display number, because entries tied to a host name or display do not
 * match inside the sandbox (its own host name, display :0).
 */
export function xauthorityFile(cookie: Buffer): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  return Buffer.concat([family, counted(Buffer.alloc(0)), counted(Buffer.alloc(0)), counted(Buffer.from(MIT_MAGIC_COOKIE, 'latin1')), counted(cookie)]);
}

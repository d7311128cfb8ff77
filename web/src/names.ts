import { useSyncExternalStore } from 'react';
import type { ActivityEvent, ApiKey, Desktop } from './api.ts';

export interface KeyName {
  name: string;
  keyId: string;
}

/**
 * The names of the account's keys and desktops by id, for events that carry only an id
 * (a key's new-address event, a desktop's actions). Filled from whatever list a page
 * loaded and from the events themselves; never holds anything secret.
 */
class Names {
  private keys = new Map<string, KeyName>();
  private desktops = new Map<string, string>();
  private version = 0;
  private readonly listeners = new Set<() => void>();

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = () => this.version;

  key(id: string | null | undefined): KeyName | undefined {
    return id ? this.keys.get(id) : undefined;
  }

  desktop(id: string | null | undefined): string | undefined {
    return id ? this.desktops.get(id) : undefined;
  }

  /** Every key whose name is known (revoked ones included), for choosing one. */
  allKeys(): Array<[string, KeyName]> {
    return [...this.keys];
  }

  /** Every desktop whose name is known (deleted ones included), for choosing one. */
  allDesktops(): Array<[string, string]> {
    return [...this.desktops];
  }

  rememberKeys(list: Pick<ApiKey, 'id' | 'name' | 'keyId'>[]): void {
    let changed = false;
    for (const k of list) {
      const known = this.keys.get(k.id);
      if (known?.name === k.name && known.keyId === k.keyId) continue;
      this.keys.set(k.id, { name: k.name, keyId: k.keyId });
      changed = true;
    }
    if (changed) this.changed();
  }

  rememberDesktops(list: Pick<Desktop, 'id' | 'name'>[]): void {
    let changed = false;
    for (const d of list) {
      if (this.desktops.get(d.id) === d.name) continue;
      this.desktops.set(d.id, d.name);
      changed = true;
    }
    if (changed) this.changed();
  }

  /**
   * Names events carry (a key's creation, a desktop's creation or renaming). A live
   * event is the latest word; history only fills in ids not known yet (it arrives
   * newest page first, and lists loaded meanwhile are more recent).
   */
  rememberFrom(events: ActivityEvent[], live: boolean): void {
    const keys: Array<KeyName & { id: string }> = [];
    const desktops: Array<{ id: string; name: string }> = [];
    for (const e of [...events].sort((a, b) => a.id - b.id)) {
      const name = typeof e.data?.name === 'string' ? e.data.name : null;
      const keyId = typeof e.data?.keyId === 'string' ? e.data.keyId : null;
      if (!name || !e.target) continue;
      if (e.target.type === 'api_key' && keyId && (live || !this.keys.has(e.target.id))) keys.push({ id: e.target.id, name, keyId });
      if (e.target.type === 'desktop' && (live || !this.desktops.has(e.target.id))) desktops.push({ id: e.target.id, name });
    }
    if (keys.length) this.rememberKeys(keys);
    if (desktops.length) this.rememberDesktops(desktops);
  }

  clear(): void {
    this.keys = new Map();
    this.desktops = new Map();
    this.changed();
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

export const names = new Names();

/** Re-renders when a name becomes known. */
export function useNames(): Names {
  useSyncExternalStore(names.subscribe, names.getVersion);
  return names;
}

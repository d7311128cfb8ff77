import type { Actor, ActivityDraft, ActivityEvent } from '../activity/events.ts';
import type { ActivityPublisher } from '../activity/ports.ts';
import type { Clock } from '../core/clock.ts';
import { Problem } from '../core/problems.ts';
import { checkDisplayName } from '../core/text.ts';
import { newId } from '../core/random.ts';

export const DESKTOP_STATES = ['provisioning', 'running', 'stopped'] as const;
export type DesktopState = (typeof DESKTOP_STATES)[number];

export interface Desktop {
  id: string;
  accountId: string;
  name: string;
  state: DesktopState;
  createdAt: number;
  updatedAt: number;
}

export interface DesktopView {
  id: string;
  name: string;
  state: DesktopState;
  createdAt: string;
  updatedAt: string;
}

export function viewDesktop(d: Desktop): DesktopView {
  return { id: d.id, name: d.name, state: d.state, createdAt: new Date(d.createdAt).toISOString(), updatedAt: new Date(d.updatedAt).toISOString() };
}

export interface DesktopStore {
  insert(desktop: Desktop, event: ActivityDraft): Promise<ActivityEvent[]>;
  findById(id: string): Promise<Desktop | undefined>;
  listByAccount(accountId: string): Promise<Desktop[]>;
  update(desktop: Desktop, event: ActivityDraft): Promise<ActivityEvent[]>;
  delete(id: string, event: ActivityDraft): Promise<ActivityEvent[]>;
}

export interface DesktopChanges {
  name?: string;
  state?: DesktopState;
}

function checkName(name: string): string {
  return checkDisplayName(name, 100);
}

export class DesktopService {
  constructor(
    private readonly store: DesktopStore,
    private readonly clock: Clock,
    private readonly activity: ActivityPublisher,
  ) {}

  async create(accountId: string, input: { name: string }, actor: Actor, ip: string | null): Promise<DesktopView> {
    const now = this.clock.now();
    const desktop: Desktop = { id: newId('dsk'), accountId, name: checkName(input.name), state: 'running', createdAt: now, updatedAt: now };
    this.activity.publish(await this.store.insert(desktop, this.event(desktop, 'desktop.created', actor, ip, { name: desktop.name })));
    return viewDesktop(desktop);
  }

  async list(accountId: string): Promise<DesktopView[]> {
    return (await this.store.listByAccount(accountId)).map(viewDesktop);
  }

  async get(accountId: string, id: string): Promise<DesktopView> {
    return viewDesktop(await this.owned(accountId, id));
  }

  async update(accountId: string, id: string, changes: DesktopChanges, actor: Actor, ip: string | null): Promise<DesktopView> {
    const current = await this.owned(accountId, id);
    const next: Desktop = {
      ...current,
      name: changes.name !== undefined ? checkName(changes.name) : current.name,
      state: changes.state ?? current.state,
      updatedAt: this.clock.now(),
    };
    const changed = (['name', 'state'] as const).filter((field) => current[field] !== next[field]);
    this.activity.publish(await this.store.update(next, this.event(next, 'desktop.updated', actor, ip, { name: next.name, state: next.state, changed })));
    return viewDesktop(next);
  }

  async delete(accountId: string, id: string, actor: Actor, ip: string | null): Promise<void> {
    const current = await this.owned(accountId, id);
    this.activity.publish(await this.store.delete(id, this.event(current, 'desktop.deleted', actor, ip, { name: current.name })));
  }

  /** 404 when it does not exist, 403 when it is another account's (the spec's 403). */
  private async owned(accountId: string, id: string): Promise<Desktop> {
    const d = await this.store.findById(id);
    if (!d) throw new Problem('not_found');
    if (d.accountId !== accountId) throw new Problem('forbidden');
    return d;
  }

  private event(d: Desktop, type: ActivityDraft['type'], actor: Actor, ip: string | null, data: Record<string, unknown>): ActivityDraft {
    return { accountId: d.accountId, type, at: this.clock.now(), actor, target: { type: 'desktop', id: d.id }, ip, data };
  }
}

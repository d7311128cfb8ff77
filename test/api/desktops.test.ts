import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../helpers/test-app.ts';

describe.each(['sqlite', 'postgres'] as const)('desktops on %s', (database) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ database });
  });
  afterAll(() => t.close());

  it('creates, lists, renames and deletes a desktop with an API key', async () => {
    const { key } = await t.account();
    const headers = { 'x-api-key': key };
    const created = await t.app.inject({ method: 'POST', url: '/api/desktops', headers, payload: { name: 'dev box' } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect((await t.app.inject({ method: 'GET', url: '/api/desktops', headers })).json().desktops.map((d: any) => d.id)).toEqual([id]);
    const renamed = await t.app.inject({ method: 'PATCH', url: `/api/desktops/${id}`, headers, payload: { name: 'renamed', state: 'stopped' } });
    expect(renamed.json()).toMatchObject({ name: 'renamed', state: 'stopped' });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/desktops/${id}`, headers })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/desktops/${id}`, headers })).json().code).toBe('not_found');
  });

  it("answers 403 for another account's desktop and never changes it", async () => {
    const owner = await t.account();
    const other = await t.account();
    const id = (await t.app.inject({ method: 'POST', url: '/api/desktops', headers: { 'x-api-key': owner.key }, payload: { name: 'mine' } })).json().id;
    for (const [method, payload] of [['GET'], ['PATCH', { name: 'stolen' }], ['DELETE']] as const) {
      const res = await t.app.inject({ method, url: `/api/desktops/${id}`, headers: { 'x-api-key': other.key }, payload });
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('forbidden');
    }
    expect((await t.app.inject({ method: 'GET', url: `/api/desktops/${id}`, headers: { 'x-api-key': owner.key } })).json().name).toBe('mine');
  });
});

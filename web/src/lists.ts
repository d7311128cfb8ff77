/** Lists of desktops and keys read the same way: newest first, the id breaking ties (ids never repeat). */
export function newestFirst(a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number {
  return Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** How names are compared for "the same name": case, surrounding spaces and Unicode forms do not count. */
export function sameNameKey(name: string): string {
  return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLocaleLowerCase();
}

/** The names (as sameNameKey gives them) that more than one item carries. */
export function duplicateNames(items: Array<{ name: string }>): Set<string> {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const item of items) {
    const key = sameNameKey(item.name);
    if (seen.has(key)) twice.add(key);
    seen.add(key);
  }
  return twice;
}

/** The item already called `name`, if any (to warn before a second one is made). */
export function findSameName<T extends { name: string }>(items: T[] | null, name: string): T | undefined {
  const key = sameNameKey(name);
  return key ? items?.find((item) => sameNameKey(item.name) === key) : undefined;
}

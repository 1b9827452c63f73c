/**
 * Sizes as LXD writes them (`512MiB`, `2GB`, `1048576`). No imports: the config schema
 * (core/queue/config.ts) and the sandbox limits both use it.
 */
const UNITS: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** Bytes in an LXD-style size (`512MiB`, `2GB`, `1048576`), or undefined. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/.exec(text.trim());
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * (UNITS[match[2] ?? 'B'] ?? 1));
  return bytes > 0 ? bytes : undefined;
}


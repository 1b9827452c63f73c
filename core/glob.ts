/**
 * Globs for names (status contexts, job names, test ids): `*` matches any run of
 * characters, `?` one character, everything else itself. No path semantics: a test id
 * `tests.test_x.*` or a context `ci/*` match across dots and slashes alike.
 */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** A predicate true for names matching any of the globs. */
export function matchesAny(globs: readonly string[]): (name: string) => boolean {
  const patterns = globs.map(globToRegExp);
  return (name) => patterns.some((p) => p.test(name));
}

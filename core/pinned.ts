/**
 * The landing comment of a bzr proposal, the same on every forge: which reviewed revision
 * landed, under which digest of its content (`PinnedContent`), and how to check it. A bzr
 * revision id is a name, not content; the strict testament sha1 is the content.
 */
import type { PinnedContent } from '../hooks/types.js';

/** A revision id or digest as quoted in a comment: one line, no control characters (a crafted branch names its revids). */
function oneLine(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, '?');
}

/**
 * Two paragraphs. The first names the reviewed revision, its testament sha1 and the landed
 * revision (a forge that recognises its own comments by their first paragraph finds it on a
 * rerun); the second says what the sha1 is and how a reviewer checks it.
 */
export function pinnedLandingText(revision: string, pinned: PinnedContent): string {
  const reviewed = oneLine(pinned.revision);
  return (
    `Landed: the reviewed revision ${reviewed} (strict testament sha1 ${oneLine(pinned.testament)}) ` +
    `was merged and pushed as revision ${oneLine(revision)}.\n\n` +
    "The testament sha1 is a digest of the revision's whole content (every file, its kind and " +
    'executable bit, and the revision metadata), computed by the landing bot from the branch it fetched. ' +
    `\`brz testament --strict -r revid:${reviewed}\` in a branch holding the revision you reviewed prints ` +
    'the same sha1 exactly when the content that landed is the content reviewed.'
  );
}

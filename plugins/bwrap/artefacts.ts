/** Copying artefacts out of a sandbox's tree is generic: it lives in core. */
export { copyArtefacts } from '../../core/index.js';

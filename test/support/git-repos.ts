/** Real git repositories for tests: now part of the public test kit (`byoci/testing`). */
export * from '../../testing/git.js';

/** The test spec a project gets when its config sets nothing but what a test overrides. */
import type { TestSpec } from '../../hooks/index.js';

/** `unsafe-host` running `true`, 60 s timeouts, no env, artefacts, network, agent or limits. */
export function testSpec(overrides: Partial<TestSpec> = {}): TestSpec {
  return {
    backend: 'unsafe-host',
    command: ['true'],
    env: [],
    setEnv: {},
    timeout: 60,
    noOutputTimeout: 60,
    artefacts: [],
    network: false,
    setupAgent: false,
    quarantine: [],
    limits: {},
    ...overrides,
  };
}

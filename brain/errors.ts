/** The brain cannot start: a missing secret, a socket it cannot bind, a user it cannot become. */
export class BrainStartupError extends Error {
  override readonly name = 'BrainStartupError';
}

import { RateLimiterMemory } from 'rate-limiter-flexible';
import { FlexibleLimiterStore, UNBOUNDED_POINTS } from './flexible-limiter-store.ts';

/** The embedded limiter store: rate-limiter-flexible's in-process memory storage. */
export class MemoryLimiterStore extends FlexibleLimiterStore {
  constructor() {
    super((name) => new RateLimiterMemory({ keyPrefix: name, points: UNBOUNDED_POINTS, duration: 60 }));
  }
}

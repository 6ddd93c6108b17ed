/** Where the backend reads time from; tests inject a fake so deadlines are exact. */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => Date.now() };

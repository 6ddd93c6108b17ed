export * from './constants.js';
export * from './schemas.js';
export * from './views.js';
export * from './health.js';
export * from './plugin-ops.js';
export * from './webhooks.js';
export * from './rules.js';
export type * from './types.js';
export * from './auth.js';

/** Height of a table row in px: fixed, so the table can place any row without measuring it. */
export const ROW_HEIGHT = 40;

/** Rows asked of the backend at once: a tall screen of rows and a margin on each side. */
export const WINDOW_ROWS = 250;

/** Windows start at multiples of this, so small scrolls reuse the window and dashboards share views. */
const WINDOW_STEP = 50;

/** Rows rendered beyond the visible ones, so a fast scroll shows rows rather than blanks. */
const OVERSCAN = 8;

/** The rows to render for a scroll position: `first` inclusive, `last` exclusive. */
export function renderedRange(scrollTop: number, viewportHeight: number, total: number): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total, Math.ceil((scrollTop + viewportHeight) / ROW_HEIGHT) + OVERSCAN);
  return { first: Math.min(first, last), last };
}

/**
 * Where the backend window should start for a first visible row: one step of margin above,
 * so the window covers at least `WINDOW_ROWS - 2 * WINDOW_STEP` rows below the first visible one.
 */
export function windowOffsetFor(firstVisible: number): number {
  return Math.max(0, Math.floor(firstVisible / WINDOW_STEP) * WINDOW_STEP - WINDOW_STEP);
}

/** Formats an age in ms as "2 s ago", "5 min ago", "3 h ago" or "4 d ago". */
export function formatAge(ageMs: number): string {
  // Clocks are a few ms apart even after the offset correction: never show a negative age.
  const seconds = Math.max(0, Math.floor(ageMs / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

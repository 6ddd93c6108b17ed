/**
 * Command-line flags shared by the benches: `--smoke` (a few seconds, small N, nothing written to
 * docs/), `--no-docs`, and `--name value` / `--name=value` pairs read with defaults.
 */
export function parseArgs(argv = process.argv.slice(2)) {
  const flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq !== -1) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags.set(arg.slice(2), argv[++i]);
    } else {
      flags.set(arg.slice(2), 'true');
    }
  }
  const smoke = flags.get('smoke') === 'true';
  return {
    smoke,
    /** Full runs append to docs/benchmarks.md and draw charts; smoke runs and --no-docs do not. */
    docs: !smoke && flags.get('no-docs') !== 'true' && flags.get('docs') !== 'false',
    has: (name) => flags.has(name),
    /** A number flag; `full` is the default of a full run, `smokeValue` of a smoke run. */
    number(name, full, smokeValue = full) {
      if (!flags.has(name)) return smoke ? smokeValue : full;
      const value = Number(String(flags.get(name)).replace(/_/g, ''));
      if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got ${flags.get(name)}`);
      return value;
    },
    string(name, full, smokeValue = full) {
      if (!flags.has(name)) return smoke ? smokeValue : full;
      return String(flags.get(name));
    },
    bool(name, full = false, smokeValue = full) {
      if (!flags.has(name)) return smoke ? smokeValue : full;
      return flags.get(name) !== 'false';
    },
  };
}

import { useLayoutEffect, useState } from 'react';

type Theme = 'system' | 'light' | 'dark';
const NEXT: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' };
const STORAGE_KEY = 'vigil.theme';

function storedTheme(): Theme {
  const value = window.localStorage.getItem(STORAGE_KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** Light, dark or the system's choice; remembered in this browser. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  // Before the first paint, so a stored dark theme does not flash light.
  useLayoutEffect(() => {
    if (theme === 'system') {
      delete document.documentElement.dataset.theme;
      window.localStorage.removeItem(STORAGE_KEY);
    } else {
      document.documentElement.dataset.theme = theme;
      window.localStorage.setItem(STORAGE_KEY, theme);
    }
  }, [theme]);
  return (
    <button
      type="button"
      className="button button--quiet"
      onClick={() => setTheme(NEXT[theme])}
      title="Switch between system, light and dark themes"
    >
      Theme: {theme}
    </button>
  );
}

import type { ReactNode } from 'react';
import { ConnectionIndicator, DisconnectedBanner } from './components/connection-indicator';
import { ClockOffsetContext } from './components/relative-time';
import { ThemeToggle } from './components/theme-toggle';
import { logout } from './features/auth/auth-api';
import { EventsPage } from './features/events/events-page';
import { InstanceDetailPage } from './features/instance-detail/instance-detail-page';
import { InstancesPage } from './features/instances/instances-page';
import { PluginConfigPage } from './features/plugin-config/config-page';
import { parseConfigPath } from './features/plugin-config/config-route';
import { PluginsPage } from './features/plugins/plugins-page';
import { RulesPage } from './features/rules/rules-page';
import { WallboardPage } from './features/wallboard/wallboard-page';
import { WebhooksPage } from './features/webhooks/webhooks-page';
import { useLive } from './live/live-context';
import { routeHref, useRoute, type Route } from './routing/hash-route';

const NAV: { path: string; label: string }[] = [
  { path: '/', label: 'Instances' },
  { path: '/plugins', label: 'Plugins' },
  { path: '/wallboard', label: 'Wallboard' },
  { path: '/events', label: 'Events' },
  { path: '/rules', label: 'Rules' },
  { path: '/webhooks', label: 'Webhooks' },
];

function page(route: Route): { section: string; content: ReactNode } {
  const config = parseConfigPath(route.path);
  if (config) {
    return { section: config.kind === 'service' ? '/plugins' : '/', content: <PluginConfigPage key={route.path} scope={config} /> };
  }
  const detail = /^\/instances\/(.+)$/.exec(route.path);
  if (detail) return { section: '/', content: <InstanceDetailPage key={detail[1]} id={decodeURIComponent(detail[1]!)} /> };
  switch (route.path) {
    case '/':
      return { section: '/', content: <InstancesPage params={route.params} /> };
    case '/plugins':
      return { section: route.path, content: <PluginsPage /> };
    case '/wallboard':
      return { section: route.path, content: <WallboardPage /> };
    case '/events':
      return { section: route.path, content: <EventsPage params={route.params} /> };
    case '/rules':
      return { section: route.path, content: <RulesPage /> };
    case '/webhooks':
      return { section: route.path, content: <WebhooksPage /> };
    default:
      return {
        section: '',
        content: (
          <p className="empty-state">
            Nothing here. <a href={routeHref('/')}>See all instances</a>
          </p>
        ),
      };
  }
}

/** Logs out and reloads, which shows the login page. */
function LogoutButton() {
  return (
    <button
      type="button"
      className="button button--quiet"
      data-testid="logout"
      onClick={() => void logout().finally(() => window.location.reload())}
    >
      Log out
    </button>
  );
}

/** @param loginRequired the backend asked for a login, so there is a session to end. */
export function App({ loginRequired = false }: { loginRequired?: boolean }) {
  const route = useRoute();
  const connection = useLive((s) => s.connection);
  const clockOffsetMs = useLive((s) => s.clockOffsetMs);
  const { section, content } = page(route);
  return (
    <ClockOffsetContext value={clockOffsetMs}>
      {/* A button, not a `#main` link: with hash routing that link would be a route. */}
      <button type="button" className="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header className="app-header">
        <h1>
          <a href={routeHref('/')}>Vigil</a>
        </h1>
        <nav aria-label="Views">
          <ul className="nav">
            {NAV.map(({ path, label }) => (
              <li key={path}>
                <a href={routeHref(path)} aria-current={section === path ? 'page' : undefined} data-testid={`nav-${label.toLowerCase()}`}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="app-header__end">
          <ConnectionIndicator state={connection} />
          <ThemeToggle />
          {loginRequired && <LogoutButton />}
        </div>
      </header>
      <DisconnectedBanner state={connection} />
      <main id="main" className={`app-main app-main--${section.slice(1) || 'instances'}`} tabIndex={-1}>
        {content}
      </main>
    </ClockOffsetContext>
  );
}

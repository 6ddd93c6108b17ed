import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { fetchSession } from './features/auth/auth-api';
import { LoginPage } from './features/auth/login-page';
import { connectLiveStore } from './live/connection';
import { LiveStoreContext } from './live/live-context';
import { createLiveStore } from './live/live-store';
import './styles.css';
import './styles-health.css';
import './styles-plugin-ops.css';

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
const reactRoot = createRoot(root);

/** Asks first whether a login is needed: the live connection would only be refused without one. */
async function boot(): Promise<void> {
  // A backend that cannot say (unreachable, older) gets the dashboard, which shows the connection state.
  const session = await fetchSession().catch(() => null);
  if (session?.loginRequired && !session.authenticated) {
    reactRoot.render(
      <StrictMode>
        <LoginPage onLoggedIn={() => window.location.reload()} />
      </StrictMode>,
    );
    return;
  }
  // The live connection belongs to the page, not to a component: it is opened once, here.
  const store = createLiveStore();
  connectLiveStore(store);
  reactRoot.render(
    <StrictMode>
      <LiveStoreContext value={store}>
        <App loginRequired={session?.loginRequired ?? false} />
      </LiveStoreContext>
    </StrictMode>,
  );
}

void boot();

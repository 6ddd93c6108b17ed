import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { connectLiveStore } from './live/connection';
import { LiveStoreContext } from './live/live-context';
import { createLiveStore } from './live/live-store';
import './styles.css';

// The live connection belongs to the page, not to a component: it is opened once, here.
const store = createLiveStore();
connectLiveStore(store);

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <LiveStoreContext value={store}>
      <App />
    </LiveStoreContext>
  </StrictMode>,
);

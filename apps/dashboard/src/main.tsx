import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { connectInstanceStore } from './live/connection';
import { createInstanceStore } from './live/instance-store';
import './styles.css';

// The live connection belongs to the page, not to a component: it is opened once, here.
const store = createInstanceStore();
connectInstanceStore(store);

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);

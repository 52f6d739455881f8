import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { isolateByServiceWorker } from './crossOriginIsolation';
import { createPlaygroundStore } from './store';
import { startPlaygroundWorker } from './workerClient';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
// Before the worker starts: a page that reloads through the service worker starts it once, isolated.
if (!(await isolateByServiceWorker())) {
  const store = createPlaygroundStore(startPlaygroundWorker());
  createRoot(root).render(
    <StrictMode>
      <App store={store} />
    </StrictMode>,
  );
}

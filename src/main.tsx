import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createPlaygroundStore } from './store';
import { startPlaygroundWorker } from './workerClient';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
const store = createPlaygroundStore(startPlaygroundWorker());
createRoot(root).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);

import { useEffect } from 'react';
import { StatusBar } from './components/StatusBar';
import { usePlayground } from './store';

export function App() {
  const gpu = usePlayground((s) => s.gpu);
  const checkGpu = usePlayground((s) => s.checkGpu);
  useEffect(() => {
    void checkGpu();
  }, [checkGpu]);
  return (
    <div className="app">
      <header className="app-header">
        <h1>TTRV Playground</h1>
        <p>Test-time reinforcement learning for vision-language models, in your browser.</p>
      </header>
      <main className="app-main" />
      <StatusBar gpu={gpu} />
    </div>
  );
}

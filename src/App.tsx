import { useEffect } from 'react';
import { useStore } from 'zustand';
import { ComparePanel } from './components/ComparePanel';
import { MetricsCharts } from './components/charts/MetricsCharts';
import { DatasetPanel } from './components/DatasetPanel';
import { ErrorBanner } from './components/ErrorBanner';
import { ExportPanel } from './components/ExportPanel';
import { ImageInput } from './components/ImageInput';
import { ModelPicker } from './components/ModelPicker';
import { QuestionInput } from './components/QuestionInput';
import { RunControls } from './components/RunControls';
import { RunsPanel } from './components/runs/RunsPanel';
import { SettingsPanel } from './components/SettingsPanel';
import { StatusBar } from './components/StatusBar';
import { StepCompletions } from './components/StepCompletions';
import { MAX_QUESTION_LENGTH } from './limits';
import {
  canCompute,
  cpuStepCost,
  isRunning,
  otherRunModel,
  type PlaygroundStore,
  trlExportSource,
} from './store';

export function App({ store }: { store: PlaygroundStore }) {
  const s = useStore(store);
  const { start } = s;
  useEffect(() => {
    void start();
  }, [start]);
  /** GPU work can run: Start, Step, compare, dataset runs. */
  const ready = canCompute(s);
  const running = isRunning(s);
  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>TTRV Playground</h1>
          <p>Test-time reinforcement learning for vision-language models, in your browser.</p>
        </div>
        <ModelPicker
          model={s.model}
          estimate={s.estimate}
          device={
            s.gpu.state === 'ready'
              ? s.gpu.report.gpuAdapter
              : s.gpu.state === 'checking'
                ? null
                : 'cpu'
          }
          onLoad={s.loadModel}
          onEstimate={s.estimateModel}
        />
      </header>
      <ErrorBanner message={s.error} onDismiss={s.dismissError} />
      <main className="app-main">
        <div className="column inputs">
          <ImageInput
            previewUrl={s.image?.url ?? null}
            caption={s.image?.caption ?? null}
            samples={s.samples}
            busy={running}
            onFile={s.setImageFile}
            onSample={s.pickSample}
          />
          <QuestionInput
            question={s.question}
            disabled={running}
            maxLength={MAX_QUESTION_LENGTH}
            onChange={s.setQuestion}
          />
          <SettingsPanel
            config={s.config}
            issues={s.configIssues}
            disabled={running}
            onChange={s.updateConfig}
          />
        </div>
        <div className="column results">
          <RunControls
            run={s.run}
            maxSteps={s.config.max_steps}
            ready={ready}
            onStart={s.startRun}
            onPause={s.pauseRun}
            onStep={s.stepOnce}
            onReset={s.resetAdapter}
          />
          <ComparePanel
            comparison={s.comparison}
            views={s.run.views}
            ready={ready && !running}
            onRefresh={s.refreshComparison}
          />
          <MetricsCharts
            history={s.run.history}
            distributions={s.run.distributions}
            reward={s.config.reward}
          />
          <StepCompletions completions={s.run.completions} />
          <RunsPanel
            runs={s.runs}
            shownId={s.runs.shown?.runId === s.run.id ? s.runs.shown.record.id : null}
            otherModel={otherRunModel(s)}
            loadedModel={s.model.label}
            ready={ready && !running && !s.datasetRun.running}
            reward={s.config.reward}
            onReopen={s.reopenRun}
            onRename={s.renameRun}
            onDelete={s.deleteRun}
            onExport={s.exportRun}
            onToggleOverlay={s.toggleOverlay}
            onLoadModel={s.loadRunModel}
            onCompareRewards={s.compareRewards}
          />
          <DatasetPanel
            splits={s.datasets}
            run={s.datasetRun}
            ready={ready && !running}
            onRun={s.runDataset}
            onCancel={s.cancelDataset}
            onOpenFolder={s.openDatasetFolder}
          />
          <ExportPanel
            hasSteps={s.run.history.length > 0}
            ready={s.model.state === 'ready' && !running}
            onExportAdapter={s.exportAdapter}
            onImportAdapter={s.importAdapter}
            onExportMetrics={s.exportMetrics}
            trlSource={trlExportSource(s)}
            onExportTrl={s.exportTrl}
          />
        </div>
      </main>
      <StatusBar gpu={s.gpu} threads={s.threads} cpuStepCost={cpuStepCost(s)} />
    </div>
  );
}

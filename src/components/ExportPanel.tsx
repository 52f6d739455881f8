type Props = {
  hasSteps: boolean;
  ready: boolean;
  onExportAdapter: () => void;
  onImportAdapter: (file: File) => void;
  onExportMetrics: (format: 'json' | 'csv') => void;
  /** What the TRL project would hold, in words; null: nothing to export yet. */
  trlSource: string | null;
  onExportTrl: () => void;
};

/** The adapter in PEFT's layout (zip), back in, the run's metrics as JSON or CSV, and the run's
 * recipe as a TRL project for a GPU cluster. */
export function ExportPanel({
  hasSteps,
  ready,
  onExportAdapter,
  onImportAdapter,
  onExportMetrics,
  trlSource,
  onExportTrl,
}: Props) {
  return (
    <section className="panel export-panel">
      <h2>Adapter and metrics</h2>
      <div className="buttons">
        <button
          type="button"
          data-testid="export-adapter"
          disabled={!ready}
          onClick={onExportAdapter}
        >
          Export adapter (.zip, PEFT)
        </button>
        <label className="button-like">
          Import adapter…
          <input
            type="file"
            accept=".zip,application/zip"
            data-testid="import-adapter"
            disabled={!ready}
            onChange={(event) => {
              const file = event.currentTarget.files?.[0];
              if (file) onImportAdapter(file);
              event.currentTarget.value = '';
            }}
          />
        </label>
        <button type="button" disabled={!hasSteps} onClick={() => onExportMetrics('json')}>
          Metrics JSON
        </button>
        <button type="button" disabled={!hasSteps} onClick={() => onExportMetrics('csv')}>
          Metrics CSV
        </button>
        <button
          type="button"
          data-testid="export-trl"
          disabled={trlSource === null}
          title={trlSource ? `A TRL GRPOTrainer project of ${trlSource}` : undefined}
          onClick={onExportTrl}
        >
          TRL project (.zip)
        </button>
      </div>
      <p className="hint">
        Load in Python with <code>PeftModel.from_pretrained(base_model, "unzipped-folder")</code> on
        the same base model.
      </p>
      <p className="hint" data-testid="export-trl-source">
        {trlSource
          ? `TRL project: ${trlSource} with these settings, as train_ttrv.py for TRL's GRPOTrainer and accelerate (one GPU or many); see its README.`
          : 'TRL project: choose an image and a question, or run a dataset, first.'}
      </p>
    </section>
  );
}

type Props = {
  hasSteps: boolean;
  ready: boolean;
  onExportAdapter: () => void;
  onImportAdapter: (file: File) => void;
  onExportMetrics: (format: 'json' | 'csv') => void;
};

/** The adapter in PEFT's layout (zip), back in, and the run's metrics as JSON or CSV. */
export function ExportPanel({
  hasSteps,
  ready,
  onExportAdapter,
  onImportAdapter,
  onExportMetrics,
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
      </div>
      <p className="hint">
        Load in Python with <code>PeftModel.from_pretrained(base_model, "unzipped-folder")</code> on
        the same base model.
      </p>
    </section>
  );
}

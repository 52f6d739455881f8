import { useEffect, useState } from 'react';
import type { DemoSample } from '../demoSamples';
import { demoSampleUrl } from '../demoSamples';

type Props = {
  previewUrl: string | null;
  caption: string | null;
  samples: DemoSample[];
  busy: boolean;
  onFile: (file: Blob) => void;
  onSample: (sample: DemoSample) => void;
};

function firstFile(items: DataTransferItemList | null): File | null {
  for (const item of Array.from(items ?? [])) {
    const file = item.kind === 'file' ? item.getAsFile() : null;
    if (file) return file;
  }
  return null;
}

/** File picker, drag and drop, paste (anywhere on the page), and the demo's sample images. */
export function ImageInput({ previewUrl, caption, samples, busy, onFile, onSample }: Props) {
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    const onPaste = (event: ClipboardEvent) => {
      const file = firstFile(event.clipboardData?.items ?? null);
      if (file) {
        event.preventDefault();
        onFile(file);
      }
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [onFile]);

  return (
    <section className="panel image-panel">
      <h2>Image</h2>
      <label
        className={`drop-zone${dragging ? ' dragging' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          const file = event.dataTransfer.files[0];
          if (file) onFile(file);
        }}
      >
        {previewUrl ? (
          <img
            src={previewUrl}
            alt={caption ?? 'What the model is asked about'}
            data-testid="image-preview"
          />
        ) : (
          <span className="drop-hint">
            Drop an image here, paste one, or click to choose a file
          </span>
        )}
        <input
          type="file"
          accept="image/*"
          data-testid="image-input"
          disabled={busy}
          onChange={(event) => {
            const file = event.currentTarget.files?.[0];
            if (file) onFile(file);
            event.currentTarget.value = '';
          }}
        />
      </label>
      {caption && <p className="image-caption">{caption}</p>}
      {samples.length > 0 && (
        <div className="samples" data-testid="sample-images">
          <span className="hint">Samples (with their question):</span>
          {samples.map((sample) => (
            <button
              key={sample.image}
              type="button"
              className="sample"
              title={`${sample.split}${sample.shifted ? ' (shifted)' : ''}: ${sample.question}`}
              disabled={busy}
              onClick={() => onSample(sample)}
            >
              <img src={demoSampleUrl(sample)} alt={`${sample.split} sample: ${sample.question}`} />
            </button>
          ))}
        </div>
      )}
    </section>
  );
}

import { useEffect, useState } from 'react';
import type { RunRecord } from '../../store';

type Props = {
  record: RunRecord;
  /** It is the run on screen. */
  shown: boolean;
  ticked: boolean;
  canOpen: boolean;
  onReopen: () => void;
  onRename: (name: string) => void;
  onDelete: () => void;
  onExport: (what: 'json' | 'csv' | 'adapter') => void;
  onToggle: () => void;
};

/** The thumbnail's bytes as a URL while the entry is shown. */
function useThumbnail(picture: RunRecord['thumbnail']): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!picture) return;
    const made = URL.createObjectURL(new Blob([picture.bytes as BlobPart], { type: picture.type }));
    setUrl(made);
    return () => URL.revokeObjectURL(made);
  }, [picture]);
  return url;
}

/** One stored run: what it was, how far it got, and what can be done with it. */
export function RunEntry(props: Props) {
  const { record } = props;
  const thumbnail = useThumbnail(record.thumbnail);
  const [renaming, setRenaming] = useState(false);
  const rename = (name: string) => {
    setRenaming(false);
    if (name.trim() && name !== record.name) props.onRename(name);
  };
  return (
    <li
      className={props.shown ? 'run-entry shown' : 'run-entry'}
      data-testid="run-entry"
      data-run-id={record.id}
      data-steps={record.steps}
    >
      <input
        type="checkbox"
        aria-label={`overlay ${record.name}`}
        data-testid="run-overlay-toggle"
        checked={props.ticked}
        onChange={props.onToggle}
      />
      {thumbnail ? <img src={thumbnail} alt="" className="run-thumbnail" /> : null}
      <div className="run-facts">
        {renaming ? (
          <input
            data-testid="run-name-input"
            defaultValue={record.name}
            // biome-ignore lint/a11y/noAutofocus: the field appears because Rename was pressed
            autoFocus
            onBlur={(event) => rename(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter') rename(event.currentTarget.value);
              if (event.key === 'Escape') setRenaming(false);
            }}
          />
        ) : (
          <strong data-testid="run-name">{record.name}</strong>
        )}
        <span className="hint">
          <span data-testid="run-reward">{record.settings.reward}</span> · lr{' '}
          {record.settings.learning_rate} · <span data-testid="run-steps">{record.steps}</span>{' '}
          steps · agreement{' '}
          <span data-testid="run-agreement">
            {record.agreement === null ? '–' : `${(record.agreement * 100).toFixed(0)} %`}
          </span>{' '}
          · {record.status} · {record.model.label}
        </span>
        <span className="run-question">{record.question}</span>
      </div>
      <div className="buttons">
        <button
          type="button"
          data-testid="run-open"
          disabled={!props.canOpen}
          onClick={props.onReopen}
        >
          Open
        </button>
        <button type="button" data-testid="run-rename" onClick={() => setRenaming(true)}>
          Rename
        </button>
        <button type="button" data-testid="run-delete" onClick={props.onDelete}>
          Delete
        </button>
        <button type="button" onClick={() => props.onExport('json')}>
          JSON
        </button>
        <button type="button" onClick={() => props.onExport('csv')}>
          CSV
        </button>
        <button
          type="button"
          data-testid="run-export-adapter"
          onClick={() => props.onExport('adapter')}
        >
          Adapter (.zip)
        </button>
      </div>
    </li>
  );
}

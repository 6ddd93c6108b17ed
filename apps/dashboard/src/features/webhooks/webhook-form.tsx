import { useState, type FormEvent } from 'react';
import { EVENT_LEVELS, type EventLevel } from '@vigil/protocol';
import { ApiError } from '../../api/http';
import { WEBHOOK_FORMATS, type WebhookFormat, type WebhookInput } from './webhooks-api';

const FORMAT_LABELS: Record<WebhookFormat, string> = {
  generic: 'Generic JSON (the event)',
  slack: 'Slack incoming webhook',
  feishu: 'Feishu / Lark bot',
  dingtalk: 'DingTalk robot',
};

export const EMPTY_WEBHOOK: WebhookInput = { name: '', url: '', format: 'generic', minLevel: 'important', enabled: true };

interface WebhookFormProps {
  initial: WebhookInput;
  title: string;
  onSave: (input: WebhookInput) => Promise<void>;
  onCancel: () => void;
}

/** Adds or edits one webhook; the backend's refusal (a bad URL, a private address) is shown as it words it. */
export function WebhookForm({ initial, title, onSave, onCancel }: WebhookFormProps) {
  const [input, setInput] = useState(initial);
  const [types, setTypes] = useState((initial.eventTypes ?? []).join(', '));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const eventTypes = types
      .split(/[\s,]+/)
      .map((t) => t.trim())
      .filter(Boolean);
    const { eventTypes: _previous, ...rest } = input;
    setSaving(true);
    setError(null);
    try {
      await onSave({ ...rest, ...(eventTypes.length > 0 && { eventTypes }) });
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      setSaving(false);
    }
  };

  return (
    <form className="panel webhook-form" onSubmit={(e) => void submit(e)} aria-labelledby="webhook-form-title" data-testid="webhook-form">
      <h3 id="webhook-form-title">{title}</h3>
      <div className="form-grid">
        <label className="field">
          <span className="field__label">Name</span>
          <input
            required
            maxLength={100}
            data-testid="webhook-name"
            value={input.name}
            onChange={(e) => setInput({ ...input, name: e.target.value })}
          />
        </label>
        <label className="field field--grow">
          <span className="field__label">URL</span>
          <input
            required
            type="url"
            maxLength={2048}
            data-testid="webhook-url"
            placeholder="https://hooks.slack.com/services/…"
            value={input.url}
            onChange={(e) => setInput({ ...input, url: e.target.value })}
          />
        </label>
        <label className="field">
          <span className="field__label">Format</span>
          <select
            data-testid="webhook-format"
            value={input.format}
            onChange={(e) => setInput({ ...input, format: e.target.value as WebhookFormat })}
          >
            {WEBHOOK_FORMATS.map((format) => (
              <option key={format} value={format}>
                {FORMAT_LABELS[format]}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field__label">Events at or above</span>
          <select
            data-testid="webhook-level"
            value={input.minLevel}
            onChange={(e) => setInput({ ...input, minLevel: e.target.value as EventLevel })}
          >
            {EVENT_LEVELS.map((level) => (
              <option key={level} value={level}>
                {level}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--grow">
          <span className="field__label">Event types (empty: all)</span>
          <input
            data-testid="webhook-types"
            placeholder="instance.lost, plugin."
            value={types}
            onChange={(e) => setTypes(e.target.value)}
          />
        </label>
        <label className="toggle">
          <input
            type="checkbox"
            data-testid="webhook-enabled"
            checked={input.enabled}
            onChange={(e) => setInput({ ...input, enabled: e.target.checked })}
          />
          enabled
        </label>
      </div>
      {error && (
        <p className="outcome outcome--failed" role="alert" data-testid="webhook-form-error">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="button button--primary" disabled={saving} data-testid="webhook-save">
          {saving ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="button button--quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

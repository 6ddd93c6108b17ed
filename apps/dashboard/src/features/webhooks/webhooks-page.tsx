import { useCallback, useEffect, useState } from 'react';
import { ApiError } from '../../api/http';
import { LevelBadge } from '../../components/level-badge';
import { RelativeTime } from '../../components/relative-time';
import { useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { formatDuration } from '../../utils/format-time';
import { EMPTY_WEBHOOK, WebhookForm } from './webhook-form';
import {
  createWebhook,
  deleteWebhook,
  inputOf,
  listWebhooks,
  testWebhook,
  updateWebhook,
  type TestOutcome,
  type Webhook,
  type WebhookInput,
} from './webhooks-api';

/** Delivery counts change as events flow; the page reads them again this often. */
const REFRESH_MS = 5_000;

type Editing = { mode: 'closed' } | { mode: 'add' } | { mode: 'edit'; webhook: Webhook };
type RowNote =
  { kind: 'testing' } | { kind: 'tested'; outcome: TestOutcome } | { kind: 'error'; message: string } | { kind: 'confirm-delete' };

const message = (error: unknown) => (error instanceof ApiError ? error.message : String(error));

/** `/webhooks`: where events are pushed (Slack, Feishu, DingTalk, any JSON endpoint): list, add, edit, enable, test. */
export function WebhooksPage() {
  useLiveView(FLEET_VIEW);
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing>({ mode: 'closed' });
  const [notes, setNotes] = useState<ReadonlyMap<string, RowNote>>(new Map());
  const note = (id: string, value: RowNote | null) =>
    setNotes((current) => {
      const next = new Map(current);
      if (value) next.set(id, value);
      else next.delete(id);
      return next;
    });

  const reload = useCallback(async (signal?: AbortSignal) => {
    try {
      setWebhooks(await listWebhooks(signal));
      setLoadError(null);
    } catch (error) {
      if (!signal?.aborted) setLoadError(message(error));
    }
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    void reload(abort.signal);
    const timer = setInterval(() => void reload(abort.signal), REFRESH_MS);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [reload]);

  const save = async (input: WebhookInput) => {
    if (editing.mode === 'edit') await updateWebhook(editing.webhook.id, input);
    else await createWebhook(input);
    setEditing({ mode: 'closed' });
    await reload();
  };

  const run = async (id: string, action: () => Promise<unknown>) => {
    try {
      await action();
      note(id, null);
    } catch (error) {
      note(id, { kind: 'error', message: message(error) });
    }
    await reload();
  };

  const test = async (id: string) => {
    note(id, { kind: 'testing' });
    try {
      note(id, { kind: 'tested', outcome: await testWebhook(id) });
    } catch (error) {
      note(id, { kind: 'error', message: message(error) });
    }
  };

  return (
    <div className="page page--webhooks">
      <div className="toolbar">
        <p className="result-line">Events at or above a level are pushed to these URLs as they happen, retried when the target fails.</p>
        <button
          type="button"
          className="button button--primary"
          data-testid="webhook-add"
          onClick={() => setEditing({ mode: 'add' })}
          disabled={editing.mode !== 'closed'}
        >
          Add webhook
        </button>
      </div>
      {editing.mode !== 'closed' && (
        <WebhookForm
          key={editing.mode === 'edit' ? editing.webhook.id : 'new'}
          title={editing.mode === 'edit' ? `Edit ${editing.webhook.name}` : 'New webhook'}
          initial={editing.mode === 'edit' ? inputOf(editing.webhook) : EMPTY_WEBHOOK}
          onSave={save}
          onCancel={() => setEditing({ mode: 'closed' })}
        />
      )}
      {loadError && (
        <p className="outcome outcome--failed" role="alert">
          Cannot load webhooks: {loadError}
        </p>
      )}
      {webhooks === null ? (
        !loadError && <p className="empty-state">Loading…</p>
      ) : webhooks.length === 0 ? (
        <p className="empty-state">No webhooks yet. Add one to hear about lost instances in your team's chat.</p>
      ) : (
        <div className="panel panel--flush">
          <table className="data-table webhook-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Target</th>
                <th scope="col">Events</th>
                <th scope="col">Enabled</th>
                <th scope="col">Deliveries</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {webhooks.map((webhook) => {
                const rowNote = notes.get(webhook.id);
                const { delivery } = webhook;
                return (
                  <tr key={webhook.id} data-testid="webhook-row" data-webhook-name={webhook.name}>
                    <th scope="row">{webhook.name}</th>
                    <td className="truncate" title={webhook.url}>
                      <span className="tag">{webhook.format}</span> {webhook.url}
                    </td>
                    <td>
                      <LevelBadge level={webhook.minLevel} /> and above
                      {webhook.eventTypes && <div className="muted small">{webhook.eventTypes.join(', ')}</div>}
                    </td>
                    <td>
                      <label className="switch">
                        <input
                          type="checkbox"
                          data-testid="webhook-toggle"
                          checked={webhook.enabled}
                          onChange={(e) =>
                            void run(webhook.id, () => updateWebhook(webhook.id, { ...inputOf(webhook), enabled: e.target.checked }))
                          }
                        />
                        <span>{webhook.enabled ? 'on' : 'off'}</span>
                      </label>
                    </td>
                    <td className="small">
                      {delivery.delivered} sent, {delivery.failed} failed
                      {delivery.dropped > 0 && `, ${delivery.dropped} dropped`}
                      {delivery.queued > 0 && `, ${delivery.queued} queued`}
                      {delivery.last && (
                        <div className={delivery.last.ok ? 'muted' : 'outcome outcome--failed'}>
                          last <RelativeTime time={delivery.last.time} />:{' '}
                          {delivery.last.ok ? 'ok' : (delivery.last.error ?? `HTTP ${delivery.last.status}`)}
                        </div>
                      )}
                    </td>
                    <td>
                      <div className="actions">
                        <button
                          type="button"
                          className="button"
                          data-testid="webhook-test"
                          disabled={rowNote?.kind === 'testing'}
                          onClick={() => void test(webhook.id)}
                        >
                          Test
                        </button>
                        <button
                          type="button"
                          className="button"
                          data-testid="webhook-edit"
                          disabled={editing.mode !== 'closed'}
                          onClick={() => setEditing({ mode: 'edit', webhook })}
                        >
                          Edit
                        </button>
                        {rowNote?.kind === 'confirm-delete' ? (
                          <>
                            <button
                              type="button"
                              className="button button--danger"
                              onClick={() => void run(webhook.id, () => deleteWebhook(webhook.id))}
                            >
                              Delete {webhook.name}
                            </button>
                            <button type="button" className="button button--quiet" onClick={() => note(webhook.id, null)}>
                              Keep
                            </button>
                          </>
                        ) : (
                          <button
                            type="button"
                            className="button button--quiet"
                            onClick={() => note(webhook.id, { kind: 'confirm-delete' })}
                          >
                            Delete…
                          </button>
                        )}
                        <div data-testid="webhook-note" aria-live="polite" className="small">
                          {rowNote?.kind === 'testing' && <span className="outcome outcome--pending">sending a test message…</span>}
                          {rowNote?.kind === 'tested' &&
                            (rowNote.outcome.ok ? (
                              <span className="outcome outcome--ok">
                                test delivered{rowNote.outcome.status !== undefined && ` (HTTP ${rowNote.outcome.status})`} in{' '}
                                {formatDuration(rowNote.outcome.durationMs)}
                              </span>
                            ) : (
                              <span className="outcome outcome--failed">
                                test failed: {rowNote.outcome.error ?? `HTTP ${rowNote.outcome.status}`}
                              </span>
                            ))}
                          {rowNote?.kind === 'error' && <span className="outcome outcome--failed">{rowNote.message}</span>}
                        </div>
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../../api/http';
import { LevelBadge } from '../../components/level-badge';
import { useLive, useLiveStore, useLiveView } from '../../live/live-context';
import { FLEET_VIEW } from '../../live/live-store';
import { routeHref } from '../../routing/hash-route';
import { describeCondition } from './rule-metrics';
import { NEW_RULE, RuleForm } from './rule-form';
import { createRule, deleteRule, inputOf, listRules, updateRule, type AlertRule, type RuleInput } from './rules-api';

/** How many instances each rule fires for changes as metrics move; the page reads the rules again this often, and on each alert event. */
const REFRESH_MS = 5_000;

type Editing = { mode: 'closed' } | { mode: 'add' } | { mode: 'edit'; rule: AlertRule };
type RowNote = { kind: 'error'; message: string } | { kind: 'confirm-delete' };

const message = (error: unknown) => (error instanceof ApiError ? error.message : String(error));

/** `/rules`: alert rules on instances' metrics: list with how many instances each fires for, add, edit, enable, delete. */
export function RulesPage() {
  useLiveView(FLEET_VIEW);
  const store = useLiveStore();
  const services = useLive((s) => s.services);
  const serviceNames = useMemo(() => services.map((s) => s.service), [services]);
  const [rules, setRules] = useState<AlertRule[] | null>(null);
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
      setRules(await listRules(signal));
      setLoadError(null);
    } catch (error) {
      if (!signal?.aborted) setLoadError(message(error));
    }
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    void reload(abort.signal);
    const timer = setInterval(() => void reload(abort.signal), REFRESH_MS);
    // A rule firing or clearing changes its count now, not at the next refresh.
    const stop = store.onEvents((events) => {
      if (events.some((e) => e.type.startsWith('alert.'))) void reload(abort.signal);
    });
    return () => {
      abort.abort();
      clearInterval(timer);
      stop();
    };
  }, [reload, store]);

  const save = async (input: RuleInput) => {
    if (editing.mode === 'edit') await updateRule(editing.rule.id, input);
    else await createRule(input);
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

  return (
    <div className="page page--rules">
      <div className="toolbar">
        <p className="result-line">
          A rule fires for an instance whose metric crosses its threshold for long enough, and clears when it is back: each is an event (
          <code>alert.fired</code>, <code>alert.cleared</code>) that <a href={routeHref('/webhooks')}>webhooks</a> carry.
        </p>
        <button
          type="button"
          className="button button--primary"
          data-testid="rule-add"
          onClick={() => setEditing({ mode: 'add' })}
          disabled={editing.mode !== 'closed'}
        >
          Add rule
        </button>
      </div>
      {editing.mode !== 'closed' && (
        <RuleForm
          key={editing.mode === 'edit' ? editing.rule.id : 'new'}
          title={editing.mode === 'edit' ? `Edit ${editing.rule.name}` : 'New rule'}
          initial={editing.mode === 'edit' ? inputOf(editing.rule) : NEW_RULE}
          services={serviceNames}
          onSave={save}
          onCancel={() => setEditing({ mode: 'closed' })}
        />
      )}
      {loadError && (
        <p className="outcome outcome--failed" role="alert">
          Cannot load alert rules: {loadError}
        </p>
      )}
      {rules === null ? (
        !loadError && <p className="empty-state">Loading…</p>
      ) : rules.length === 0 ? (
        <p className="empty-state">No alert rules yet. Add one to hear when an event loop stalls or a heap fills up.</p>
      ) : (
        <div className="panel panel--flush">
          <table className="data-table rule-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Condition</th>
                <th scope="col">Scope</th>
                <th scope="col">Level</th>
                <th scope="col">Enabled</th>
                <th scope="col">Firing for</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((rule) => {
                const rowNote = notes.get(rule.id);
                return (
                  <tr key={rule.id} data-testid="rule-row" data-rule-name={rule.name} data-firing={rule.firing}>
                    <th scope="row">{rule.name}</th>
                    <td data-testid="rule-condition">{describeCondition(rule)}</td>
                    <td>{rule.service ?? <span className="muted">every service</span>}</td>
                    <td>
                      <LevelBadge level={rule.level} />
                    </td>
                    <td>
                      <label className="switch">
                        <input
                          type="checkbox"
                          data-testid="rule-toggle"
                          checked={rule.enabled}
                          onChange={(e) => void run(rule.id, () => updateRule(rule.id, { ...inputOf(rule), enabled: e.target.checked }))}
                        />
                        <span>{rule.enabled ? 'on' : 'off'}</span>
                      </label>
                    </td>
                    <td data-testid="rule-firing" className={rule.firing > 0 ? 'outcome outcome--failed' : 'muted'}>
                      {rule.firing === 0
                        ? 'no instance'
                        : `${rule.firing.toLocaleString('en')} ${rule.firing === 1 ? 'instance' : 'instances'}`}
                    </td>
                    <td>
                      <div className="actions">
                        <button
                          type="button"
                          className="button"
                          data-testid="rule-edit"
                          disabled={editing.mode !== 'closed'}
                          onClick={() => setEditing({ mode: 'edit', rule })}
                        >
                          Edit
                        </button>
                        {rowNote?.kind === 'confirm-delete' ? (
                          <>
                            <button
                              type="button"
                              className="button button--danger"
                              data-testid="rule-delete-confirm"
                              onClick={() => void run(rule.id, () => deleteRule(rule.id))}
                            >
                              Delete {rule.name}
                            </button>
                            <button type="button" className="button button--quiet" onClick={() => note(rule.id, null)}>
                              Keep
                            </button>
                          </>
                        ) : (
                          <button
                            type="button"
                            className="button button--quiet"
                            data-testid="rule-delete"
                            onClick={() => note(rule.id, { kind: 'confirm-delete' })}
                          >
                            Delete…
                          </button>
                        )}
                        {rowNote?.kind === 'error' && (
                          <div className="small outcome outcome--failed" role="alert">
                            {rowNote.message}
                          </div>
                        )}
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
